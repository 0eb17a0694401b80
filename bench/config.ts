import path from 'node:path'

/** `seed` alone only seeds (and caches) the databases. */
export type Phase = 'seed' | 'reads' | 'ingest' | 'stream' | 'import' | 'import-memory'

/** Every knob of `npm run bench`, from the environment (see bench/RESULTS.md for the defaults' rationale). */
export interface BenchConfig {
  /** Images spread over the small workspaces; the big workspace gets a tenth as many on top. */
  images: number
  workspaces: number
  dbs: ('sqlite' | 'postgres')[]
  /** Seconds of load per endpoint and server. */
  duration: number
  /** Slices each endpoint's load is cut into, alternating the baseline and Pictura. */
  rounds: number
  /** Seconds of warm-up per endpoint and server, all endpoints first (JIT, page cache). */
  warmup: number
  connections: number
  depth: number
  phases: Set<Phase>
  ingestCount: number
  ingestClients: number
  /** Ingest runs, each on a fresh server; the median is reported with the range. */
  ingestRounds: number
  streamBytes: number
  /** Bytes of files `pictura import` reads in the import-memory phase. */
  importMemoryBytes: number
  pgUrl: string
  /** Cached seeded SQLite files and scratch data directories (gitignored). */
  dataDir: string
  build: boolean
  /** Keep the write rounds' data directories when the bench ends (to inspect them, or to run again at once). */
  keepRuns: boolean
  /** Write `--cpu-prof` profiles of the Pictura server into this directory. */
  profileDir: string | null
  /** Only the read endpoints whose name matches (e.g. `get by id`). */
  only: RegExp | null
  /** Pictura's API_PROCESSES: its HTTP processes (node:cluster); memory is then summed over all of them. */
  apiProcesses: number
}

const root = path.resolve(import.meta.dirname, '..')

export function benchConfig(env: Record<string, string | undefined> = process.env): BenchConfig {
  const int = (name: string, fallback: number) => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw.replace(/_/g, ''))
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${raw}: expected a non-negative integer`)
    return n
  }
  const db = env.BENCH_DB ?? 'both'
  if (!['sqlite', 'postgres', 'both'].includes(db))
    throw new Error(`BENCH_DB=${db}: sqlite, postgres or both`)
  const phases = (env.BENCH_PHASES ?? 'reads,ingest,stream,import,import-memory')
    .split(',')
    .map((s) => s.trim())
  for (const p of phases) {
    if (!['seed', 'reads', 'ingest', 'stream', 'import', 'import-memory'].includes(p))
      throw new Error(`BENCH_PHASES: unknown phase ${p}`)
  }
  return {
    images: int('BENCH_IMAGES', 1_000_000),
    workspaces: int('BENCH_WORKSPACES', 1_000),
    dbs: db === 'both' ? ['sqlite', 'postgres'] : [db as 'sqlite' | 'postgres'],
    duration: int('BENCH_DURATION', 10),
    warmup: int('BENCH_WARMUP', 3),
    rounds: Math.max(1, int('BENCH_ROUNDS', 5)),
    connections: int('BENCH_CONNECTIONS', 16),
    depth: int('BENCH_DEPTH', 10_000),
    phases: new Set(phases as Phase[]),
    ingestCount: int('BENCH_INGEST_COUNT', 2_000),
    ingestClients: int('BENCH_INGEST_CLIENTS', 8),
    ingestRounds: Math.max(1, int('BENCH_INGEST_ROUNDS', 3)),
    streamBytes: int('BENCH_STREAM_BYTES', 1024 * 1024 * 1024),
    importMemoryBytes: int('BENCH_IMPORT_MEMORY_BYTES', 5 * 1024 * 1024 * 1024),
    pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    dataDir: path.resolve(env.BENCH_DATA_DIR ?? path.join(root, '.bench-data')),
    build: env.BENCH_BUILD !== '0',
    keepRuns: env.BENCH_KEEP_RUNS === '1',
    profileDir: env.BENCH_PROFILE ? path.resolve(env.BENCH_PROFILE) : null,
    only: env.BENCH_ONLY ? new RegExp(env.BENCH_ONLY, 'i') : null,
    apiProcesses: Math.max(1, int('BENCH_API_PROCESSES', 1)),
  }
}

export const repoRoot = root
