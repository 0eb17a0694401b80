import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from './config.js'

export const PUBLIC_URL = 'http://127.0.0.1:8787'

export interface Server {
  name: string
  url: string
  pid: number
  stop(): Promise<void>
}

/**
 * Starts a server as a child process and resolves once it prints the address it
 * listens on (`… listening on http://127.0.0.1:PORT`); both servers print that line.
 */
export async function startServer(
  name: string,
  args: string[],
  env: Record<string, string>,
  options: { nodeArgs?: string[] } = {},
): Promise<Server> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
    cwd: repoRoot,
    env: { ...inherited(), HOST: '127.0.0.1', PORT: '0', PUBLIC_URL, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${output}`)))
    setTimeout(() => reject(new Error(`${name} did not start within 120 s:\n${output}`)), 120_000).unref()
  })
  // Keep draining its output (warnings) so the pipe never fills, and show errors.
  child.stdout!.removeAllListeners('data')
  child.stdout!.resume()
  child.stderr!.removeAllListeners('data')
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`))
  let stopping = false
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`[${name}] exited unexpectedly: code ${code}, signal ${signal}\n`)
  })
  return {
    name,
    url,
    pid: child.pid!,
    stop: () => {
      stopping = true
      return stop(child)
    },
  }
}

/**
 * The bench's own environment without Pictura's settings, so a DATABASE_URL or
 * BLOB_STORE of the shell never points a bench server at real data. WORKER_CONCURRENCY,
 * UV_THREADPOOL_SIZE and NODE_OPTIONS pass through as knobs.
 */
const PICTURA_SETTING =
  /^(PORT|HOST|DATA_DIR|DATABASE_URL|PUBLIC_URL|MAX_UPLOAD_BYTES|MAX_IMAGE_PIXELS|IMAGE_PROVIDER|BLOB_STORE|BOOTSTRAP_ADMIN_TOKEN|LOG_LEVEL|RATE_LIMIT_PER_MINUTE|EXIF_GPS|CORS_ORIGINS|VARIANT_CACHE_BYTES|JOB_LEASE_MS|WORKER_IN_PROCESS|CF_\w+|S3_\w+)$/

function inherited(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !PICTURA_SETTING.test(k)) out[k] = v
  return out
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export function pictura(
  env: Record<string, string>,
  profileDir: string | null,
  name = 'pictura',
  extraNodeArgs: string[] = [],
): Promise<Server> {
  const nodeArgs = [
    ...V8_FLAGS,
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...extraNodeArgs,
  ]
  return startServer(
    name,
    [path.join(repoRoot, 'dist/src/main.js'), 'serve'],
    { ...START_ENV, ...env },
    { nodeArgs },
  )
}

/** What `npm start` and the `pictura` command set in the server's environment (src/main.ts). */
const START_ENV = { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }

/** The V8 flags `npm start` and the `pictura` command run the server with; the baseline gets them too. */
const V8_FLAGS = ['--max-semi-space-size=8']

/** The independent baseline (bench/baseline/server.ts), run through tsx as the bench itself is. */
export function baseline(env: Record<string, string>): Promise<Server> {
  return startServer('baseline', [path.join(repoRoot, 'bench/baseline/server.ts')], env, {
    nodeArgs: [...V8_FLAGS, '--import', 'tsx'],
  })
}

/** A process and its children (a cluster's API processes), by pid. */
function tree(pid: number): number[] {
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {}
  return [pid, ...children]
}

/**
 * Memory of a server in MiB, summed over its processes: resident now, each
 * process's own high-water mark (their sum bounds the peak from above), and
 * the proportional set size, which counts pages the processes share (code,
 * libraries) once instead of once per process.
 */
export function memoryOf(pid: number): { rss: number; hwm: number; pss: number } {
  let rss = 0
  let hwm = 0
  let pss = 0
  for (const p of tree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
      rss += kb('VmRSS')
      hwm += kb('VmHWM')
      pss += Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0)
    } catch {
      if (p === pid) throw new Error(`process ${pid} is gone`)
    }
  }
  return { rss: rss / 1024, hwm: hwm / 1024, pss: pss / 1024 }
}

/** CPU seconds (user + system) a server has used so far, summed over its processes. */
export function cpuSecondsOf(pid: number): number {
  let ticks = 0
  for (const p of tree(pid)) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks / CLOCK_TICKS
}

/**
 * CPU seconds (user + system) of every process named `name` on the machine
 * (PostgreSQL's postmaster and backends: the database's own share of a load).
 */
export function cpuSecondsNamed(name: string): number {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const open = stat.indexOf('(')
      const close = stat.lastIndexOf(')')
      if (stat.slice(open + 1, close) !== name) continue
      const fields = stat.slice(close + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks / CLOCK_TICKS
}

/** USER_HZ, which /proc reports times in: 100 on every Linux the bench runs on. */
const CLOCK_TICKS = 100

/** Samples a server's memory every 100 ms; `stop()` returns the peaks seen and the kernel's own high-water marks. */
export function sampleMemory(pid: number) {
  const start = memoryOf(pid)
  let peak = start.rss
  let pssPeak = start.pss
  const sample = () => {
    const now = memoryOf(pid)
    peak = Math.max(peak, now.rss)
    pssPeak = Math.max(pssPeak, now.pss)
    return now
  }
  const timer = setInterval(() => {
    try {
      sample()
    } catch {
      // The process ended; the last sample stands.
    }
  }, 100)
  return {
    start: start.rss,
    stop(): MemoryPeaks {
      clearInterval(timer)
      let hwm = peak
      try {
        hwm = sample().hwm
      } catch {}
      return { start: start.rss, peak, hwm, pss: pssPeak }
    },
  }
}

/** MiB: resident at start, sampled peak, the kernel's high-water mark, sampled peak of the proportional set size. */
export interface MemoryPeaks {
  start: number
  peak: number
  hwm: number
  pss: number
}
