import autocannon from 'autocannon'
import { CursorCodec } from '../src/http/pagination.js'
import { compareAnswers, type Exchange } from './answers.js'
import { decodeCursor, encodeCursor } from './baseline/cursor.js'
import type { BenchConfig } from './config.js'
import { baseline, cpuSecondsOf, type MemoryPeaks, pictura, type Server, sampleMemory } from './processes.js'
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
  baseline: Load
}

export interface ReadReport {
  rows: ReadRow[]
  /** Pictura's resident memory through the read load (MiB). */
  memory: MemoryPeaks
  /** Requests whose answers were compared before the loads (every request the loads send). */
  compared: number
  /** Endpoints where the baseline answered differently from Pictura (see answers.ts): their ratios are void. */
  mismatches: Mismatch[]
  /** The admin list with one client: its latency without queueing behind 15 other connections. */
  adminAlone?: { pictura: Load; baseline: Load }
}

export interface Mismatch {
  endpoint: string
  differing: number
  compared: number
  /** The first difference found, with its request. */
  first: string
}

type Side = 'pictura' | 'baseline'

interface Endpoint {
  name: string
  token: string
  /** Rotated per request, so single reads touch many rows; the same on both sides but for their cursors. */
  paths: Record<Side, string[]>
}

function endpoints(fx: Fixture): Endpoint[] {
  const cursors = new CursorCodec(fx.cursorSecret)
  const big = `/api/images?workspace_id=${fx.bigWorkspaceId}&limit=100`
  const n = fx.samples.length
  const groups = Array.from({ length: 200 }, (_, g) =>
    Array.from({ length: 5 }, (_, j) => fx.samples[(g * 7 + j * 211) % n]!.id).join(','),
  )
  const both = (paths: string[]) => ({ pictura: paths, baseline: paths })
  return [
    { name: 'list, first page (100)', token: fx.memberToken, paths: both([big]) },
    {
      name: `list, depth ${fx.depth.toLocaleString('en')} (keyset)`,
      token: fx.memberToken,
      // Each side's cursor of the same row.
      paths: {
        pictura: [`${big}&after=${cursors.encode('images', fx.depthKey)}`],
        baseline: [`${big}&after=${encodeCursor(fx.depthKey)}`],
      },
    },
    {
      name: `admin list, all ${fx.images.toLocaleString('en')}`,
      token: fx.adminToken,
      paths: both(['/api/images?limit=100']),
    },
    { name: 'get by id', token: fx.memberToken, paths: both(fx.samples.map((s) => `/api/images/${s.id}`)) },
    {
      name: 'get by file',
      token: fx.memberToken,
      paths: both(fx.samples.map((s) => `/api/images/by-file/${s.fileId}`)),
    },
    { name: 'ids (5)', token: fx.memberToken, paths: both(groups.map((ids) => `/api/images?ids=${ids}`)) },
    {
      name: 'ids (5), workspace_id',
      token: fx.memberToken,
      paths: both(groups.map((ids) => `/api/images?workspace_id=${fx.bigWorkspaceId}&ids=${ids}`)),
    },
  ]
}

const exchanges = (ep: Endpoint): Exchange[] =>
  ep.paths.pictura.map((path, i) => ({ token: ep.token, pictura: path, baseline: ep.paths.baseline[i]! }))

async function load(
  server: Server,
  side: Side,
  ep: Endpoint,
  duration: number,
  connections: number,
): Promise<Load> {
  let i = 0
  const paths = ep.paths[side]
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
          req.path = paths[i++ % paths.length]!
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

const log = (msg: string) => process.stderr.write(`[reads] ${msg}\n`)

/**
 * Each endpoint is loaded on the independent baseline, then on Pictura, back to
 * back, so both see the same machine load; both are warmed up first (JIT, page
 * cache), after their answers are compared.
 */
export async function readPhase(
  cfg: BenchConfig,
  fx: Fixture,
  baselineUrl: string,
  dataDir: string,
): Promise<ReadReport> {
  const b = await baseline({
    DATABASE_URL: baselineUrl,
    BASELINE_ADMIN_TOKEN: fx.adminToken,
    BASELINE_MEMBER_TOKEN: fx.memberToken,
    BASELINE_MEMBER_SCOPE: fx.memberScope.join(','),
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
  const mismatches: Mismatch[] = []
  let compared = 0
  const cursors = new CursorCodec(fx.cursorSecret)
  const keys = { pictura: (c: string) => cursors.decode('images', c), baseline: decodeCursor }
  let mem: ReadReport['memory'] | undefined
  let adminAlone: ReadReport['adminAlone']
  try {
    const eps = endpoints(fx).filter((e) => !cfg.only || cfg.only.test(e.name))
    for (const ep of eps) {
      const all = exchanges(ep)
      const found = await compareAnswers({ pictura: p, baseline: b }, all, keys)
      compared += all.length
      if (found.length > 0) {
        mismatches.push({
          endpoint: ep.name,
          differing: found.length,
          compared: all.length,
          first: found[0]!,
        })
        log(`${ep.name}: the baseline's answers differ from Pictura's:\n  ${found.slice(0, 5).join('\n  ')}`)
      } else log(`${ep.name}: ${all.length} answers alike`)
    }
    if (cfg.warmup > 0) {
      log(`warming up both servers, ${cfg.warmup} s per endpoint`)
      for (const ep of eps) {
        await load(b, 'baseline', ep, cfg.warmup, cfg.connections)
        await load(p, 'pictura', ep, cfg.warmup, cfg.connections)
      }
    }
    // Short alternating slices, rounds outermost: the machine's load drifts, and both servers, and every
    // endpoint (the depth page is judged against the first page), should see the same drift.
    const slice = Math.max(1, Math.round(cfg.duration / cfg.rounds))
    const baselineSlices = eps.map((): Load[] => [])
    const picturaSlices = eps.map((): Load[] => [])
    for (let r = 0; r < cfg.rounds; r++) {
      for (const [i, ep] of eps.entries()) {
        baselineSlices[i]!.push(await load(b, 'baseline', ep, slice, cfg.connections))
        picturaSlices[i]!.push(await load(p, 'pictura', ep, slice, cfg.connections))
      }
    }
    for (const [i, ep] of eps.entries()) {
      const baselineLoad = combine(baselineSlices[i]!)
      const picturaLoad = combine(picturaSlices[i]!)
      rows.push({ endpoint: ep.name, pictura: picturaLoad, baseline: baselineLoad })
      log(
        `${fx.driver} ${ep.name}: pictura ${picturaLoad.rps.toFixed(0)}/s p99 ${picturaLoad.p99} ms ${picturaLoad.cpuUs.toFixed(0)} µs CPU, baseline ${baselineLoad.rps.toFixed(0)}/s ${baselineLoad.cpuUs.toFixed(0)} µs CPU (${(picturaLoad.rps / baselineLoad.rps).toFixed(2)})`,
      )
    }
    const admin = eps.find((e) => e.name.startsWith('admin'))
    if (admin) {
      const slice = Math.max(1, Math.round(cfg.duration / cfg.rounds))
      adminAlone = {
        baseline: await load(b, 'baseline', admin, slice, 1),
        pictura: await load(p, 'pictura', admin, slice, 1),
      }
    }
    mem = memory.stop()
  } finally {
    await b.stop()
    await p.stop()
  }
  return { rows, memory: mem, compared, mismatches, ...(adminAlone ? { adminAlone } : {}) }
}
