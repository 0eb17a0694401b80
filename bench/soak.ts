/**
 * `npm run soak`: minutes of mixed load (reads, uploads, deletes) against a
 * real `pictura serve` process on a fresh SQLite data directory, its memory
 * sampled every 10 s, then 10 idle seconds; a table per minute goes to
 * bench/SOAK.md. Not part of `npm test`.
 *
 * Knobs: SOAK_MINUTES (5), SOAK_RPS (100), SOAK_DB (`sqlite` or `postgres`,
 * with PICTURA_BENCH_PG_URL), SOAK_OUT (bench/SOAK.md), SOAK_SERVER_ENV
 * (extra `K=V,K=V` for the server, to compare settings).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import sharp from 'sharp'
import { repoRoot } from './config.js'
import { pictura, type Server } from './processes.js'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 5)
const RPS = Number(process.env.SOAK_RPS ?? 100)
const DB = process.env.SOAK_DB === 'postgres' ? 'postgres' : 'sqlite'
const PG_URL = process.env.PICTURA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const OUT = process.env.SOAK_OUT ?? path.join(repoRoot, 'bench/SOAK.md')
const SERVER_ENV = Object.fromEntries(
  (process.env.SOAK_SERVER_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
)
const SAMPLE_MS = 10_000
const IDLE_MS = 10_000
/** Files kept in the workspace: uploads add, deletes remove, around this many. */
const POOL = 200

const log = (msg: string) => process.stderr.write(`[soak] ${msg}\n`)

interface Memory {
  rss: number
  anon: number
  /** process.memoryUsage() inside the server (bench/soak-probe.mjs), its latest line. */
  heapUsed?: number
  heapTotal?: number
  external?: number
}

let probeFile = ''

/** The server's latest line of process.memoryUsage(). */
function probe(): Pick<Memory, 'heapUsed' | 'heapTotal' | 'external'> {
  try {
    const lines = readFileSync(probeFile, 'utf8').trim().split('\n')
    const last = JSON.parse([...lines].reverse().find((l) => l.includes('heapTotal'))!) as {
      heapUsed: number
      heapTotal: number
      external: number
    }
    return { heapUsed: last.heapUsed, heapTotal: last.heapTotal, external: last.external }
  } catch {
    return {}
  }
}

/** Resident and anonymous memory of the server process, in MiB. */
function memoryOf(pid: number): Memory {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    log(`the server (pid ${pid}) is gone`)
    process.exit(1)
  }
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, ...probe() }
}

/** Photos of a few sizes, all different, as cameras and phones send them (64 px to 1600 px wide). */
async function photos(count: number): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const width = [64, 320, 800, 1600][i % 4]!
    const height = Math.round(width * 0.75)
    const noise = await sharp({
      create: { width, height, channels: 3, background: { r: i % 255, g: (i * 7) % 255, b: (i * 13) % 255 } },
    })
      .composite([
        {
          input: Buffer.from(
            `<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${width / 3}" fill="rgb(${(i * 31) % 255},90,200)"/></svg>`,
          ),
        },
      ])
      .jpeg({ quality: 85 })
      .toBuffer()
    out.push(noise)
  }
  return out
}

interface Minute {
  requests: number
  errors: number
  latencies: number[]
  samples: Memory[]
  byKind: Record<string, number>
}

const newMinute = (): Minute => ({ requests: 0, errors: 0, latencies: [], samples: [], byKind: {} })

function p99(values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!
}

async function main() {
  const dataDir = path.join(tmpdir(), `pictura-soak-${randomBytes(4).toString('hex')}`)
  mkdirSync(dataDir, { recursive: true })
  let databaseUrl = `sqlite:${path.join(dataDir, 'pictura.db')}`
  const schema = `soak_${randomBytes(4).toString('hex')}`
  if (DB === 'postgres') {
    const c = new pg.Client({ connectionString: PG_URL })
    await c.connect()
    await c.query(`create schema ${schema}`)
    await c.end()
    databaseUrl = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  }
  const token = `pic_${randomBytes(24).toString('base64url')}`
  // Kept after the run, for a closer look: every 5 s of the server's memory.
  probeFile = path.join(tmpdir(), `pictura-soak-memory-${randomBytes(4).toString('hex')}.jsonl`)
  log(`the server's process.memoryUsage() every 5 s: ${probeFile}`)
  const server: Server = await pictura(
    {
      DATA_DIR: dataDir,
      BOOTSTRAP_ADMIN_TOKEN: token,
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: databaseUrl,
      SOAK_PROBE_FILE: probeFile,
      ...SERVER_ENV,
    },
    null,
    'pictura-soak',
    ['--import', path.join(repoRoot, 'bench/soak-probe.mjs')],
  )
  const auth = { authorization: `Bearer ${token}` }
  const errors: string[] = []
  try {
    const ws = (await (
      await fetch(`${server.url}/api/workspaces`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"name":"soak"}',
      })
    ).json()) as { id: string }
    const images = await photos(40)
    const files: string[] = []
    const ready: { fileId: string; url: string; imageId: string }[] = []
    let n = 0

    const upload = async () => {
      const bytes = images[n++ % images.length]!
      const res = await fetch(`${server.url}/api/files?workspace_id=${ws.id}&name=p${n}.jpg`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      })
      const body = (await res.json()) as { id: string }
      if (res.status === 201) files.push(body.id)
      return res.status
    }
    for (let i = 0; i < 50; i++) await upload()
    log(`server ${server.url} (pid ${server.pid}), ${DB}, ${MINUTES} min at ${RPS} req/s`)

    // Refreshes the list of ready images now and then (a read of its own, counted with the others).
    const listImages = async () => {
      const res = await fetch(`${server.url}/api/images?workspace_id=${ws.id}&limit=100`, { headers: auth })
      const page = (await res.json()) as { data?: { id: string; fileId: string; url: string }[] }
      if (page.data) {
        ready.splice(
          0,
          ready.length,
          ...page.data.map((d) => ({ fileId: d.fileId, url: d.url, imageId: d.id })),
        )
      }
      return res.status
    }
    await listImages()

    const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)]
    const variantOf = (url: string) =>
      url.replace(/\/public$/, `/w=${[80, 160, 320, 640][Math.floor(Math.random() * 4)]}`)

    /** One request of the mix: 60% reads of rows, 15% bytes, 15% uploads, 10% deletes. */
    const request = async (): Promise<{ kind: string; status: number }> => {
      const r = Math.random()
      if (r < 0.25) return { kind: 'list', status: await listImages() }
      if (r < 0.45) {
        const img = pick(ready)
        if (!img) return { kind: 'list', status: await listImages() }
        const res = await fetch(`${server.url}/api/images/${img.imageId}`, { headers: auth })
        await res.arrayBuffer()
        return { kind: 'get', status: res.status === 404 ? 200 : res.status }
      }
      if (r < 0.6) {
        const res = await fetch(`${server.url}/api/files?workspace_id=${ws.id}&limit=50`, { headers: auth })
        await res.arrayBuffer()
        return { kind: 'files', status: res.status }
      }
      if (r < 0.75) {
        const img = pick(ready)
        if (!img) return { kind: 'list', status: await listImages() }
        const res = await fetch(variantOf(img.url).replace(/^https?:\/\/[^/]+/, server.url))
        await res.arrayBuffer()
        // A variant of an image another request just deleted is gone: that is not an error.
        return { kind: 'cdn', status: res.status === 404 ? 200 : res.status }
      }
      // Uploads and deletes keep the workspace near POOL files, so lists cost the same all along.
      if ((r < 0.9 && files.length < POOL) || files.length < POOL / 2)
        return { kind: 'upload', status: await upload() }
      const id = files.splice(Math.floor(Math.random() * files.length), 1)[0]!
      const res = await fetch(`${server.url}/api/files/${id}`, { method: 'DELETE', headers: auth })
      await res.arrayBuffer()
      return { kind: 'delete', status: res.status }
    }

    const minutes: Minute[] = []
    let current = newMinute()
    const start = Date.now()
    const end = start + MINUTES * 60_000
    const sampler = setInterval(() => current.samples.push(memoryOf(server.pid)), SAMPLE_MS)
    const inFlight = new Set<Promise<void>>()
    let nextMinute = start + 60_000
    for (let due = start; due < end; due += 1000 / RPS) {
      const wait = due - Date.now()
      if (wait > 0) await sleep(wait)
      if (Date.now() >= nextMinute) {
        minutes.push(current)
        current = newMinute()
        nextMinute += 60_000
        const last = minutes.at(-1)!
        log(
          `minute ${minutes.length}: ${last.requests} requests, ${last.errors} errors, p99 ${p99(last.latencies).toFixed(1)} ms, RSS ${last.samples.at(-1)?.rss.toFixed(0)} MiB`,
        )
      }
      const minute = current
      const t0 = performance.now()
      const p: Promise<void> = request()
        .then(({ kind, status }) => {
          minute.byKind[kind] = (minute.byKind[kind] ?? 0) + 1
          if (status >= 400) {
            minute.errors++
            if (errors.length < 20) errors.push(`${kind} ${status}`)
          }
        })
        .catch((err: Error) => {
          minute.errors++
          if (errors.length < 20) errors.push(`network: ${err.message}`)
        })
        .finally(() => {
          minute.requests++
          minute.latencies.push(performance.now() - t0)
          inFlight.delete(p)
        })
      inFlight.add(p)
    }
    await Promise.all(inFlight)
    clearInterval(sampler)
    current.samples.push(memoryOf(server.pid))
    minutes.push(current)

    // Idle: does memory keep growing with nothing to do?
    const idle: Memory[] = [memoryOf(server.pid)]
    for (let s = 0; s < IDLE_MS / 2000; s++) {
      await sleep(2000)
      idle.push(memoryOf(server.pid))
    }
    writeReport(minutes, idle, errors)
  } finally {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
    if (DB === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
    }
  }
}

function writeReport(minutes: Minute[], idle: Memory[], errors: string[]) {
  const f0 = (n: number) => n.toFixed(0)
  const f1 = (n: number) => n.toFixed(1)
  const rssEnd = (m: Minute) => m.samples.at(-1)?.rss ?? 0
  const rows = minutes.map((m, i) => {
    const rss = m.samples.map((s) => s.rss)
    return `| ${i + 1} | ${m.requests} | ${m.errors} | ${f1(p99(m.latencies))} | ${f0(Math.min(...rss))}–${f0(Math.max(...rss))} | ${f0(rssEnd(m))} | ${f0(m.samples.at(-1)?.anon ?? 0)} | ${f0(m.samples.at(-1)?.heapUsed ?? 0)} / ${f0(m.samples.at(-1)?.heapTotal ?? 0)} | ${f0(m.samples.at(-1)?.external ?? 0)} | ${Object.entries(
      m.byKind,
    )
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`
  })
  const totalErrors = minutes.reduce((a, m) => a + m.errors, 0)
  const second = minutes[1] ? rssEnd(minutes[1]) : Number.NaN
  const lastTwo = minutes.slice(-2).flatMap((m) => m.samples.map((s) => s.rss))
  const worst = Math.max(...lastTwo)
  const plateau = minutes.length >= 4 && worst <= second * 1.1
  const idleGrowth = idle.at(-1)!.rss - idle[0]!.rss
  const full = minutes.length >= 5
  const lines = [
    '# Soak',
    '',
    `\`npm run soak\` (bench/soak.ts): ${MINUTES} min of mixed load at ${RPS} req/s against one \`pictura serve\``,
    `(${DB}, fresh data directory, built with \`npm run build\`), RSS sampled every 10 s, then ${IDLE_MS / 1000} s idle.`,
    'Mix: 25% image lists (100 a page), 20% single images, 15% file lists, 15% `/cdn` variants (4 widths),',
    `15% uploads of JPEGs from 64 to 1600 px (each provisioned by the in-process worker), 10% deletes;`,
    `the workspace holds about ${POOL} files. Server env: ${
      Object.keys(SERVER_ENV).length
        ? Object.entries(SERVER_ENV)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : 'defaults'
    }.`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; run ${new Date().toISOString()}${full ? '' : ` (**shorter than the 5-minute target run**)`}.`,
    '',
    '| minute | requests | errors | p99 ms | RSS MiB (min–max of samples) | RSS at end | RssAnon at end | V8 heap used / total at end | external at end | mix |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    `Idle ${IDLE_MS / 1000} s after the load: RSS ${idle.map((m) => f0(m.rss)).join(' → ')} MiB (${idleGrowth > 0 ? '+' : ''}${f1(idleGrowth)} MiB), RssAnon ${idle.map((m) => f0(m.anon)).join(' → ')} MiB.`,
    '',
    '| target | result |',
    '| --- | --- |',
    `| no errors | ${totalErrors === 0 ? 'yes' : `**no**: ${totalErrors} (${errors.slice(0, 5).join('; ')})`} |`,
    `| RSS of the last two minutes within 10% of minute two (${f0(second)} MiB) | ${plateau ? 'yes' : '**no**'}: highest ${f0(worst)} MiB (${f1(((worst - second) / second) * 100)}%) |`,
    `| RSS does not grow after 10 idle seconds | ${idleGrowth <= 1 ? 'yes' : '**no**'} (${idleGrowth > 0 ? '+' : ''}${f1(idleGrowth)} MiB) |`,
    '',
  ]
  writeFileSync(OUT, `${lines.join('\n')}\n`)
  log(`wrote ${OUT}`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

await main()
