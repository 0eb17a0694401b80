/**
 * Summarises a V8 `.cpuprofile` (node --cpu-prof): self time by function and by
 * package or source file, so a profile reads in a terminal.
 * Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount: number
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top]\n')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
for (const [i, id] of profile.samples.entries())
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)

function where(url: string): string {
  if (!url) return '(native/idle)'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]!
  if (url.startsWith('node:')) return url
  const src = /\/(src|dist\/src|bench)\/(.*)$/.exec(url)
  return src ? `${src[1]}/${src[2]}` : url
}

const fns = new Map<string, number>()
const places = new Map<string, number>()
for (const [id, us] of self) {
  const n = byId.get(id)!
  const { functionName, url, lineNumber } = n.callFrame
  const name = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`
  fns.set(name, (fns.get(name) ?? 0) + us)
  const place =
    functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)'
      ? functionName
      : where(url)
  places.set(place, (places.get(place) ?? 0) + us)
}
const show = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (total ${(total / 1e6).toFixed(1)} s)\n`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}\n`)
  }
}
// Inclusive time of our own functions: what each step of a request costs with everything it calls.
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const inclusive = new Map<string, number>()
for (const [id, us] of self) {
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { functionName, url, lineNumber } = byId.get(cur)!.callFrame
    if (!/\/(src|dist\/src)\//.test(url)) continue
    const name = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`
    if (seen.has(name)) continue
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + us)
  }
}
const idle = (places.get('(idle)') ?? 0) + (places.get('(program)') ?? 0)
process.stdout.write(`busy ${((total - idle) / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s\n`)
show('Self time by package or file', places)
show('Inclusive time of src/ functions', inclusive)
show('Self time by function', fns)
