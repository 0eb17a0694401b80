import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'

/**
 * The client's types hold for a program that uses it: one compiles with
 * `tsc --strict`, the same program with a wrong parameter does not; and the
 * client itself compiles for browsers (DOM library, no Node types).
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
// Inside the checkout (gitignored), so `../client/index.js` resolves as it would in a project.
const dir = mkdtempSync(path.join(ROOT, '.scratch-types-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc')
const NODE = [
  '--strict',
  '--noEmit',
  '--skipLibCheck',
  '--target',
  'es2022',
  '--module',
  'nodenext',
  '--moduleResolution',
  'nodenext',
]

async function tsc(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [TSC, ...args], { cwd: dir })
    return { code: 0, out: stdout }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

const PROGRAM = `import { createClient, PicturaError, type Image } from '../client/index.js'

export async function main(token: string): Promise<number> {
  const pictura = createClient({ baseUrl: 'http://127.0.0.1:8787', token })
  const ws = await pictura.workspaces.create({ name: 'Photos' })
  const file = await pictura.uploadFile(new Blob([new Uint8Array([1, 2, 3])]), {
    workspaceId: ws.id,
    onProgress: ({ sent, total }) => console.log(sent, total),
  })
  const images: Image[] = []
  for await (const image of pictura.images.all({ workspaceId: ws.id })) images.push(image)
  const { data } = await pictura.api.GET('/api/files/{id}', { params: { path: { id: file.id } } })
  const width: number = (await pictura.waitForImage(file.id, { timeoutMs: 5000 })).width
  try {
    await pictura.images.get('img_x')
  } catch (err) {
    if (err instanceof PicturaError && err.code === 'not_found') return err.status
  }
  return images.length + width + (data?.size ?? 0)
}
`

/** Each mistake a type should catch: the line to change, and what it becomes. */
const MISTAKES: [string, string, string][] = [
  ['a number for workspaceId', 'workspaceId: ws.id,', 'workspaceId: 42,'],
  ['an unknown option', '{ workspaceId: ws.id }))', "{ workspaceId: ws.id, workspace: 'x' }))"],
  ['a path the API does not have', "'/api/files/{id}'", "'/api/file/{id}'"],
  ['a path parameter misnamed', 'path: { id: file.id }', 'path: { fileId: file.id }'],
  ['a field the body does not take', "{ name: 'Photos' }", "{ title: 'Photos' }"],
  ['an error code the API never answers', "'not_found'", "'missing'"],
]

// Both compilations run at once (each takes seconds); the tests read their outcomes.
const files = MISTAKES.map(([, from, to], i) => {
  assert.ok(PROGRAM.includes(from), from)
  writeFileSync(path.join(dir, `bad-${i}.ts`), PROGRAM.replace(from, to))
  return `bad-${i}.ts`
})
writeFileSync(path.join(dir, 'good.ts'), PROGRAM)
const program = tsc([...NODE, 'good.ts', ...files])
writeFileSync(
  path.join(dir, 'tsconfig.browser.json'),
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: 'es2022',
      module: 'esnext',
      moduleResolution: 'bundler',
      lib: ['es2022', 'dom', 'dom.iterable'],
      types: [],
    },
    files: [path.join(ROOT, 'client/index.ts')],
  }),
)
const browser = tsc(['-p', 'tsconfig.browser.json'])

test('a program using the client compiles with tsc --strict', async () => {
  const { out } = await program
  assert.doesNotMatch(out, /good\.ts\(/, out)
})

test('the same program with a wrong parameter does not compile, for each kind of mistake', async () => {
  const { code, out } = await program
  assert.notEqual(code, 0)
  // Each program fails on the line that was changed.
  MISTAKES.forEach(([what, from], i) => {
    const line = PROGRAM.slice(0, PROGRAM.indexOf(from)).split('\n').length
    assert.match(out, new RegExp(`bad-${i}\\.ts\\(${line},\\d+\\): error TS`), `${what}: ${out}`)
  })
})

test('the client compiles for browsers: DOM library, no Node types', async () => {
  const { code, out } = await browser
  assert.equal(code, 0, out)
})
