import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import path from 'node:path'
import pg from 'pg'
import sharp from 'sharp'
import type { BenchConfig } from './config.js'
import {
  cpuSecondsNamed,
  cpuSecondsOf,
  type MemoryPeaks,
  memoryOf,
  pictura,
  type Server,
  sampleMemory,
} from './processes.js'

export interface IngestRound {
  /** Seconds until every upload was answered, and until every image was listed. */
  uploadSeconds: number
  listedSeconds: number
  imagesPerSecond: number
  /** CPU time per image (ms): the server's processes, PostgreSQL's (0 on SQLite), and the load generator (this process). */
  serverCpuMs: number
  databaseCpuMs: number
  clientCpuMs: number
  memory: MemoryPeaks
}

export interface IngestReport {
  count: number
  clients: number
  /** In the order run; `median` is the round with the median images a second. */
  rounds: IngestRound[]
  median: IngestRound
}

export interface StreamReport {
  bytes: number
  seconds: number
  /** RSS just before the upload, its peak during it, and the growth (MiB). */
  before: number
  peak: number
  growth: number
}

const log = (msg: string) => process.stderr.write(`[writes] ${msg}\n`)

/**
 * The data directories of finished write rounds, removed only when the bench ends
 * (removeSpentDirs). On ext4 without a journal, as on the 2026-12-01 machine, every
 * new file or folder is allocated past the inodes deleted in the last 60 s (300 s
 * while their table block is unwritten), each of them looked up: removing a round's
 * 4,000 files before the next round made that round's uploads pay for it. The same
 * holds for a bench started within minutes of another one's removal, which
 * BENCH_KEEP_RUNS=1 avoids.
 */
const spentDirs: string[] = []

export function removeSpentDirs(cfg: BenchConfig): void {
  const dirs = spentDirs.splice(0)
  if (cfg.keepRuns) {
    log(`kept: ${dirs.join(' ')}`)
    return
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}

/** An empty database and data directory of its own, so writes never touch the cached seed. */
export async function freshServer(
  cfg: BenchConfig,
  driver: 'sqlite' | 'postgres',
  label: string,
  env: Record<string, string> = {},
) {
  const run = cfg.keepRuns ? `${Date.now()}` : `${spentDirs.length + 1}`
  const dataDir = path.join(cfg.dataDir, `run-${label}-${driver}-${run}`)
  // Left by an interrupted run.
  rmSync(dataDir, { recursive: true, force: true })
  mkdirSync(dataDir, { recursive: true })
  const schema = `bench_${label}_${randomBytes(4).toString('hex')}`
  let databaseUrl = `sqlite:${path.join(dataDir, 'pictura.db')}`
  if (driver === 'postgres') {
    const c = new pg.Client({ connectionString: cfg.pgUrl })
    await c.connect()
    await c.query(`create schema ${schema}`)
    await c.end()
    databaseUrl = `${cfg.pgUrl}${cfg.pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  }
  const token = `pic_${randomBytes(24).toString('base64url')}`
  const server = await pictura(
    {
      DATA_DIR: dataDir,
      BOOTSTRAP_ADMIN_TOKEN: token,
      RATE_LIMIT_PER_MINUTE: '0',
      DATABASE_URL: databaseUrl,
      API_PROCESSES: String(cfg.apiProcesses),
      ...env,
    },
    cfg.profileDir,
    `pictura-${label}`,
  )
  const auth = { authorization: `Bearer ${token}` }
  const res = await fetch(`${server.url}/api/workspaces`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench ${label}` }),
  })
  if (res.status !== 201) throw new Error(`creating a workspace: ${res.status} ${await res.text()}`)
  const workspaceId = ((await res.json()) as { id: string }).id
  return {
    server,
    auth,
    workspaceId,
    async close() {
      await server.stop()
      spentDirs.push(dataDir)
      if (driver === 'postgres') {
        const c = new pg.Client({ connectionString: cfg.pgUrl })
        await c.connect()
        await c.query(`drop schema ${schema} cascade`)
        await c.end()
      }
    },
  }
}

/** Small JPEGs that all differ (a gradient keyed by the index), each with a few EXIF tags as cameras write them. */
export async function jpegs(count: number): Promise<Buffer[]> {
  const out: Buffer[] = []
  const size = 64
  for (let i = 0; i < count; i++) {
    const px = Buffer.alloc(size * size * 3)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3
        px[o] = (x * 4 + i) & 255
        px[o + 1] = (y * 4 + (i >> 8)) & 255
        px[o + 2] = (x * y + i * 13) & 255
      }
    }
    out.push(
      await sharp(px, { raw: { width: size, height: size, channels: 3 } })
        .withExif({ IFD0: { Make: 'Pictura', Model: 'Bench', Software: `ingest ${i}` } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    )
  }
  return out
}

/**
 * `count` distinct JPEGs uploaded by `clients` concurrent clients; the clock runs
 * from the first upload until `GET /api/images` lists every one of them.
 */
export async function ingestPhase(cfg: BenchConfig, driver: 'sqlite' | 'postgres'): Promise<IngestReport> {
  const files = await jpegs(cfg.ingestCount)
  log(
    `${driver}: ${files.length} JPEGs of ~${Math.round(files.reduce((a, f) => a + f.length, 0) / files.length)} bytes`,
  )
  const rounds: IngestRound[] = []
  for (let r = 0; r < cfg.ingestRounds; r++) {
    const round = await ingestRound(cfg, driver, files)
    log(
      `${driver} ingest round ${r + 1}: ${round.imagesPerSecond.toFixed(0)} images/s, server ${round.serverCpuMs.toFixed(1)} ms CPU an image${round.databaseCpuMs ? `, PostgreSQL ${round.databaseCpuMs.toFixed(1)}` : ''}`,
    )
    rounds.push(round)
  }
  const sorted = [...rounds].sort((a, b) => a.imagesPerSecond - b.imagesPerSecond)
  return {
    count: files.length,
    clients: cfg.ingestClients,
    rounds,
    median: sorted[(sorted.length - 1) >> 1]!,
  }
}

export async function ingestRound(
  cfg: BenchConfig,
  driver: 'sqlite' | 'postgres',
  files: Buffer[],
): Promise<IngestRound> {
  const env = await freshServer(cfg, driver, 'ingest')
  const { server, auth, workspaceId } = env
  const memory = sampleMemory(server.pid)
  try {
    const cpuBefore = cpuSecondsOf(server.pid)
    const databaseBefore = driver === 'postgres' ? cpuSecondsNamed('postgres') : 0
    const clientBefore = process.cpuUsage()
    const started = performance.now()
    let next = 0
    // node:http on kept-alive connections: the load generator shares the two cores with the server, and
    // fetch() cost it ~3 ms of CPU per upload on the 2026-12-01 machine.
    const agent = new Agent({ keepAlive: true, maxSockets: cfg.ingestClients })
    const client = async () => {
      while (next < files.length) {
        const i = next++
        const { status, body } = await post(
          agent,
          `${server.url}/api/files?workspace_id=${workspaceId}&name=bench-${i}.jpg`,
          { ...auth, 'content-type': 'image/jpeg' },
          files[i]!,
        )
        if (status !== 201) throw new Error(`upload ${i}: ${status} ${body}`)
      }
    }
    await Promise.all(Array.from({ length: cfg.ingestClients }, client))
    agent.destroy()
    const uploadSeconds = (performance.now() - started) / 1000
    // No image can be listed as the last before the last upload is answered: polling starts then, so
    // the polls (auth, a page and a total each) do not compete with the uploads for the cores.
    await waitListed(server, auth, workspaceId, files.length)
    const listedSeconds = (performance.now() - started) / 1000
    const clientCpu = process.cpuUsage(clientBefore)
    return {
      uploadSeconds,
      listedSeconds,
      imagesPerSecond: files.length / listedSeconds,
      serverCpuMs: ((cpuSecondsOf(server.pid) - cpuBefore) * 1000) / files.length,
      databaseCpuMs:
        driver === 'postgres' ? ((cpuSecondsNamed('postgres') - databaseBefore) * 1000) / files.length : 0,
      clientCpuMs: (clientCpu.user + clientCpu.system) / 1000 / files.length,
      memory: memory.stop(),
    }
  } finally {
    await env.close()
  }
}

function post(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          text += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function waitListed(server: Server, auth: Record<string, string>, workspaceId: string, count: number) {
  const deadline = Date.now() + 15 * 60_000
  for (;;) {
    const res = await fetch(`${server.url}/api/images?workspace_id=${workspaceId}&limit=1`, { headers: auth })
    const page = (await res.json()) as { pageInfo: { total: number } }
    if (page.pageInfo.total >= count) return
    if (Date.now() > deadline)
      throw new Error(`only ${page.pageInfo.total} of ${count} images listed after 15 min`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** One upload of `streamBytes` generated bytes, sent with backpressure; the server's RSS growth over it. */
export async function streamPhase(cfg: BenchConfig, driver: 'sqlite' | 'postgres'): Promise<StreamReport> {
  const env = await freshServer(cfg, driver, 'stream', {
    MAX_UPLOAD_BYTES: String(cfg.streamBytes + 1024 * 1024),
  })
  const { server, auth, workspaceId } = env
  try {
    // A small upload first, so the code paths are loaded and compiled before the baseline is taken.
    await upload(server, auth, workspaceId, 1024 * 1024)
    await new Promise((r) => setTimeout(r, 500))
    const before = memoryOf(server.pid).rss
    const memory = sampleMemory(server.pid)
    const started = performance.now()
    await upload(server, auth, workspaceId, cfg.streamBytes)
    const seconds = (performance.now() - started) / 1000
    const { peak } = memory.stop()
    return { bytes: cfg.streamBytes, seconds, before, peak, growth: peak - before }
  } finally {
    await env.close()
  }
}

function upload(
  server: Server,
  auth: Record<string, string>,
  workspaceId: string,
  bytes: number,
): Promise<void> {
  const chunk = randomBytes(1024 * 1024)
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/api/files?workspace_id=${workspaceId}&name=stream.bin`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': bytes },
      },
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => {
          text += d
        })
        res.on('end', () =>
          res.statusCode === 201 ? resolve() : reject(new Error(`stream upload: ${res.statusCode} ${text}`)),
        )
      },
    )
    req.on('error', reject)
    let sent = 0
    const write = () => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent)
        // Every chunk differs a little, as a real file's would.
        chunk.writeUInt32BE(sent >>> 20, 0)
        sent += n
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', write)
          return
        }
      }
      req.end()
    }
    write()
  })
}
