import autocannon from 'autocannon'
import { CursorCodec } from '../src/http/pagination.js'
import type { BenchConfig } from './config.js'
import { bare, cpuSecondsOf, type MemoryPeaks, pictura, type Server, sampleMemory } from './processes.js'
import type { Fixture } from './seed.js'

export interface Load {
  rps: number
  p50: number
  p99: number
  /** The server's CPU time per request answered (µs): steadier than throughput on a shared machine. */
  cpuUs: number
  /** Requests that were not 2xx, plus socket errors and timeouts: any makes the figure suspect. */
  failed: number
}

export interface ReadRow {
  endpoint: string
  pictura: Load
  bare: Load
}

export interface ReadReport {
  rows: ReadRow[]
  /** Pictura's resident memory through the read load (MiB). */
  memory: MemoryPeaks
  /** Endpoints whose first answer differed between the two servers (they must write the same bytes). */
  mismatches: string[]
  /** The admin list with one client: its latency without queueing behind 15 other connections. */
  adminAlone?: { pictura: Load; bare: Load }
}

interface Endpoint {
  name: string
  token: string
  /** Rotated per request, so single reads touch many rows. */
  paths: string[]
}

function endpoints(fx: Fixture): Endpoint[] {
  const cursors = new CursorCodec(fx.cursorSecret)
  const big = `/api/images?workspace_id=${fx.bigWorkspaceId}&limit=100`
  const n = fx.samples.length
  const groups = Array.from({ length: 200 }, (_, g) =>
    Array.from({ length: 5 }, (_, j) => fx.samples[(g * 7 + j * 211) % n]!.id).join(','),
  )
  return [
    { name: 'list, first page (100)', token: fx.memberToken, paths: [big] },
    {
      name: `list, depth ${fx.depth.toLocaleString('en')} (keyset)`,
      token: fx.memberToken,
      paths: [`${big}&after=${cursors.encode('images', fx.depthKey)}`],
    },
    {
      name: `admin list, all ${fx.images.toLocaleString('en')}`,
      token: fx.adminToken,
      paths: ['/api/images?limit=100'],
    },
    { name: 'get by id', token: fx.memberToken, paths: fx.samples.map((s) => `/api/images/${s.id}`) },
    {
      name: 'get by file',
      token: fx.memberToken,
      paths: fx.samples.map((s) => `/api/images/by-file/${s.fileId}`),
    },
    { name: 'ids (5)', token: fx.memberToken, paths: groups.map((ids) => `/api/images?ids=${ids}`) },
  ]
}

async function load(server: Server, ep: Endpoint, duration: number, connections: number): Promise<Load> {
  let i = 0
  const cpuBefore = cpuSecondsOf(server.pid)
  const result = await autocannon({
    url: server.url,
    connections,
    duration,
    headers: { authorization: `Bearer ${ep.token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          req.path = ep.paths[i++ % ep.paths.length]!
          return req
        },
      },
    ],
  })
  const cpu = cpuSecondsOf(server.pid) - cpuBefore
  return {
    rps: result.requests.average,
    cpuUs: result.requests.total > 0 ? (cpu * 1e6) / result.requests.total : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  }
}

/** Slices combined: mean throughput, median latencies, every failure. */
function combine(slices: Load[]): Load {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]!
  }
  return {
    rps: slices.reduce((a, s) => a + s.rps, 0) / slices.length,
    p50: median(slices.map((s) => s.p50)),
    cpuUs: slices.reduce((a, s) => a + s.cpuUs, 0) / slices.length,
    p99: median(slices.map((s) => s.p99)),
    failed: slices.reduce((a, s) => a + s.failed, 0),
  }
}

async function body(server: Server, ep: Endpoint): Promise<string> {
  const res = await fetch(`${server.url}${ep.paths[0]}`, { headers: { authorization: `Bearer ${ep.token}` } })
  return `${res.status} ${await res.text()}`
}

const log = (msg: string) => process.stderr.write(`[reads] ${msg}\n`)

/**
 * Each endpoint is loaded on the bare server, then on Pictura, back to back, so
 * both see the same machine load; both are warmed up first (JIT, page cache).
 */
export async function readPhase(cfg: BenchConfig, fx: Fixture, dataDir: string): Promise<ReadReport> {
  const b = await bare({
    DATABASE_URL: fx.databaseUrl,
    BARE_ADMIN_TOKEN: fx.adminToken,
    BARE_MEMBER_SCOPE: fx.memberScope.join(','),
  })
  const p = await pictura(
    {
      DATABASE_URL: fx.databaseUrl,
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_MINUTE: '0',
      API_PROCESSES: String(cfg.apiProcesses),
    },
    cfg.profileDir,
  )
  const memory = sampleMemory(p.pid)
  const rows: ReadRow[] = []
  const mismatches: string[] = []
  let mem: ReadReport['memory'] | undefined
  let adminAlone: ReadReport['adminAlone']
  try {
    const eps = endpoints(fx).filter((e) => !cfg.only || cfg.only.test(e.name))
    for (const ep of eps) {
      const [pb, bb] = [await body(p, ep), await body(b, ep)]
      if (pb !== bb) {
        const at = [...pb].findIndex((ch, k) => ch !== bb[k])
        mismatches.push(
          `${ep.name}: first difference at ${at}: pictura …${pb.slice(at, at + 80)}… bare …${bb.slice(at, at + 80)}…`,
        )
      }
      if (!pb.startsWith('200')) throw new Error(`${ep.name}: Pictura answered ${pb.slice(0, 300)}`)
    }
    if (cfg.warmup > 0) {
      log(`warming up both servers, ${cfg.warmup} s per endpoint`)
      for (const ep of eps) {
        await load(b, ep, cfg.warmup, cfg.connections)
        await load(p, ep, cfg.warmup, cfg.connections)
      }
    }
    // Short alternating slices, rounds outermost: the machine's load drifts, and both servers, and every
    // endpoint (the depth page is judged against the first page), should see the same drift.
    const slice = Math.max(1, Math.round(cfg.duration / cfg.rounds))
    const bareSlices = eps.map((): Load[] => [])
    const picturaSlices = eps.map((): Load[] => [])
    for (let r = 0; r < cfg.rounds; r++) {
      for (const [i, ep] of eps.entries()) {
        bareSlices[i]!.push(await load(b, ep, slice, cfg.connections))
        picturaSlices[i]!.push(await load(p, ep, slice, cfg.connections))
      }
    }
    for (const [i, ep] of eps.entries()) {
      const bareLoad = combine(bareSlices[i]!)
      const picturaLoad = combine(picturaSlices[i]!)
      rows.push({ endpoint: ep.name, pictura: picturaLoad, bare: bareLoad })
      log(
        `${fx.driver} ${ep.name}: pictura ${picturaLoad.rps.toFixed(0)}/s p99 ${picturaLoad.p99} ms ${picturaLoad.cpuUs.toFixed(0)} µs CPU, bare ${bareLoad.rps.toFixed(0)}/s ${bareLoad.cpuUs.toFixed(0)} µs CPU (${(picturaLoad.rps / bareLoad.rps).toFixed(2)})`,
      )
    }
    const admin = eps.find((e) => e.name.startsWith('admin'))
    if (admin) {
      const slice = Math.max(1, Math.round(cfg.duration / cfg.rounds))
      adminAlone = { bare: await load(b, admin, slice, 1), pictura: await load(p, admin, slice, 1) }
    }
    mem = memory.stop()
  } finally {
    await b.stop()
    await p.stop()
  }
  return { rows, memory: mem, mismatches, ...(adminAlone ? { adminAlone } : {}) }
}
