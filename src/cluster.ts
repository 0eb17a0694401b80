import cluster, { type Worker as ClusterProcess } from 'node:cluster'
import type { Config } from './config.js'

/**
 * `pictura serve` with API_PROCESSES > 1: a primary that forks that many API
 * processes sharing one port (node:cluster hands them connections in turn)
 * and supervises them. It loads nothing of the app, so it stays small. The
 * first process starts alone: it migrates, removes temp files of interrupted
 * uploads and creates the first admin before any process serves; the others
 * follow once it listens. One of them runs the in-process provisioning worker.
 */

/** What a cluster's API process does besides serving; set by the primary when it forks the process. */
export interface ProcessRole {
  /** The deployment's start-up work (temp file clean-up, first admin): only before anything serves. */
  readonly startup: boolean
  /** Runs the in-process provisioning worker. */
  readonly jobs: boolean
}

/** The role of this process, or null when it is not an API process of a cluster. */
export function processRole(): ProcessRole | null {
  if (!cluster.isWorker) return null
  return { startup: process.env.PICTURA_STARTUP === '1', jobs: process.env.PICTURA_JOBS === '1' }
}

interface Ready {
  type: 'pictura:ready'
  lines: string[]
}

/** An API process tells the primary it listens, and what to print (the primary prints for all). */
export function reportReady(lines: string[]): void {
  process.send?.({ type: 'pictura:ready', lines } satisfies Ready)
}

const RESPAWN_DELAY_MS = 1_000
const SEMI_SPACE_MIB = 8
const STOP_TIMEOUT_MS = 30_000

export async function servePrimary(config: Config): Promise<void> {
  const count = config.apiProcesses
  let stopping = false
  const roles = new Map<ClusterProcess, ProcessRole>()
  // Each process's young generation stays at 16 MiB instead of growing to 32 under load, as in a single
  // process (see main.ts): the smaller one measured faster (it stays warmer in the CPU's cache).
  cluster.setupPrimary({ execArgv: [...process.execArgv, `--max-semi-space-size=${SEMI_SPACE_MIB}`] })

  const fork = (role: ProcessRole): ClusterProcess => {
    const child = cluster.fork({
      PICTURA_STARTUP: role.startup ? '1' : '0',
      PICTURA_JOBS: role.jobs ? '1' : '0',
    })
    roles.set(child, role)
    return child
  }
  const ready = (child: ClusterProcess) =>
    new Promise<Ready>((resolve, reject) => {
      child.on('message', (m: Ready) => m?.type === 'pictura:ready' && resolve(m))
      child.once('exit', (code, signal) =>
        reject(new Error(`an API process exited (${signal ?? code}) while starting`)),
      )
    })

  const stop = () => {
    if (stopping) return
    stopping = true
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref()
    // Each finishes what it has in flight and exits 0; the last exit ends the primary.
    for (const child of roles.keys()) child.process.kill('SIGTERM')
    if (roles.size === 0) process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)

  const first = fork({ startup: true, jobs: config.workerInProcess })
  const { lines } = await ready(first)
  const rest = Array.from({ length: count - 1 }, () => fork({ startup: false, jobs: false }))
  await Promise.all(rest.map(ready))
  process.stdout.write(`${[...lines, `Serving with ${count} API processes (API_PROCESSES).`].join('\n')}\n`)

  // A process that crashed is replaced; one that stopped cleanly was asked to (a signal to all of them).
  cluster.on('exit', (child, code, signal) => {
    const role = roles.get(child)
    roles.delete(child)
    if (stopping || code === 0 || !role) {
      if (roles.size === 0) process.exit(0)
      return
    }
    process.stderr.write(`pictura: an API process exited (${signal ?? code}); starting another\n`)
    setTimeout(() => {
      if (stopping) return
      const replacement = fork({ ...role, startup: false })
      ready(replacement).then(
        () => process.stderr.write(`pictura: API process ${replacement.process.pid} serves in its place\n`),
        () => {},
      )
    }, RESPAWN_DELAY_MS)
  })
}
