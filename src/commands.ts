import { buildApp } from './app.js'
import { type ProcessRole, reportReady } from './cluster.js'
import type { Config } from './config.js'
import { type Container, createContainer } from './container.js'
import { bootstrapAdmin } from './features/auth/bootstrap.js'
import { describeBlobSweep, sweepOrphanBlobs } from './features/files/orphan-blobs.js'
import { describeSweep, parseSweepArgs, sweep } from './features/images/sweep.js'
import { migrateToLatest, openDatabase } from './platform/db/database.js'
import { isDatabaseUnavailable } from './platform/db/errors.js'
import { Worker } from './platform/jobs/worker.js'
import { createLogger, type Logger } from './shared/logger.js'

/** The CLI's commands (see main.ts, which loads this module only when a command needs it). */

/**
 * The HTTP API, and a provisioning worker unless WORKER_IN_PROCESS=false. As
 * one of a cluster's API processes (`role`), it cleans up and bootstraps only
 * if it is the first, runs jobs only if told to, and reports to the primary
 * instead of printing.
 */
export async function serve(config: Config, role: ProcessRole | null = null) {
  const log = createLogger(config.logLevel)
  survivesDatabaseFailures(log)
  const c = await createContainer(config, log, { waitForDatabase: true })
  // Only before any process of this deployment serves: afterwards a temp file may be an upload in flight.
  const startup = role?.startup ?? true
  if (startup) {
    // Housekeeping: an object store that is down at start must not keep the API (lists, reads) from serving.
    const leftovers = await c.blobs.cleanup().catch((err: unknown) => {
      log.warn({ err }, 'leftovers of interrupted uploads not cleaned up (the next start tries again)')
      return 0
    })
    if (leftovers > 0) log.info({ leftovers }, 'removed temp files of interrupted uploads')
  }
  const boot = startup ? await bootstrapAdmin(c, config.bootstrapAdminToken) : { created: false as const }
  const app = await buildApp(c)
  await app.listen({ port: config.port, host: config.host })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  const lines = [`Pictura listening on ${base} (database: ${config.db.driver}, data: ${config.dataDir})`]
  if (boot.created) {
    lines.push(
      boot.generated
        ? `Created ${boot.email} with this admin token (shown once, keep it):`
        : `Created ${boot.email} with the token from BOOTSTRAP_ADMIN_TOKEN:`,
      `  ${boot.generated ? boot.token : 'pic_… (from BOOTSTRAP_ADMIN_TOKEN)'}`,
      `Try: curl -H "Authorization: Bearer ${boot.generated ? boot.token : '$BOOTSTRAP_ADMIN_TOKEN'}" ${base}/api/me`,
    )
  } else {
    lines.push('Use the admin token printed at first start, or mint one: npx pictura token create --admin')
  }
  lines.push(`Web app: ${base}/ (sign in with the token)`, `API reference: ${base}/docs`)
  if (role) reportReady(lines)
  else process.stdout.write(`${lines.join('\n')}\n`)
  // Blobs a crash left without their row, once the API serves (a large store takes a while to list).
  if (startup) {
    void sweepOrphanBlobs({ db: c.db, blobs: c.blobs, log, minAgeMs: config.orphanBlobAgeMs }).catch((err) =>
      log.warn({ err }, 'orphan blobs not swept (the next start or `pictura sweep` tries again)'),
    )
  }
  // Off when dedicated `pictura worker` processes do the provisioning; in a cluster, one API process runs it.
  const worker = (role ? role.jobs : config.workerInProcess) ? startWorker(c) : null

  onShutdown(log, async () => {
    await app.close()
    await worker?.stop()
    await c.close()
  })
}

function startWorker(c: Container): Worker {
  return new Worker(c, { concurrency: c.config.workerConcurrency, leaseMs: c.config.jobLeaseMs }).start()
}

/** Only the worker: provisioning scales apart from the API, on the same database and blob store. */
export async function runWorker(config: Config) {
  const log = createLogger(config.logLevel)
  survivesDatabaseFailures(log)
  const c = await createContainer(config, log, { waitForDatabase: true })
  const worker = startWorker(c)
  // The worker's poll timer is unref'd so it never holds a test open; on SQLite no socket holds this
  // process either, and an idle worker would exit at once. Hold it until a signal stops it.
  setInterval(() => {}, 1 << 30)
  process.stdout.write(
    `Pictura worker ${worker.id} running ${config.workerConcurrency} at a time (database: ${config.db.driver})\n`,
  )
  onShutdown(log, async () => {
    await worker.stop()
    await c.close()
  })
}

/**
 * A backstop: every database call is awaited by its caller, so a failure
 * reaches a request's answer or a worker's retry. Should one escape (a bug),
 * an unavailable database still does not end the process; anything else
 * does, as Node would.
 */
function survivesDatabaseFailures(log: Logger) {
  process.on('unhandledRejection', (err) => {
    if (isDatabaseUnavailable(err)) {
      log.error({ err }, 'a database failure went unhandled (a bug); the process goes on')
      return
    }
    log.fatal({ err }, 'unhandled rejection')
    process.exit(1)
  })
}

/** On SIGTERM or SIGINT, once: `close` (stop accepting, finish what is in flight), then exit 0; 30 s at most. */
function onShutdown(log: Logger, close: () => Promise<void>) {
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down')
    setTimeout(() => process.exit(1), 30_000).unref()
    await close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

export async function migrate(config: Config) {
  // Fails at once when the database does not answer (no wait, unlike serve), nor hangs on a hung one.
  const handle = openDatabase(config.db, { connectTimeoutMs: config.dbConnectTimeoutMs })
  const applied = await migrateToLatest(handle.db)
  await handle.destroy()
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date\n')
}

export async function createAdminToken(config: Config) {
  const c = await createContainer(config, createLogger('warn'))
  await bootstrapAdmin(c, null)
  const admin = await c.db
    .selectFrom('users')
    .select(['id', 'email'])
    .where('role', '=', 'admin')
    .orderBy('id')
    .executeTakeFirstOrThrow()
  const minted = await c.tokens.mint(admin.id, 'cli')
  await c.close()
  process.stdout.write(`Token for ${admin.email} (shown once):\n${minted.token}\n`)
}

/**
 * Removes orphaned provider copies and blobs without a file row; logs (one
 * line per removal) go to stderr, the summary to stdout.
 */
export async function runSweep(config: Config, args: string[]) {
  const options = parseSweepArgs(args)
  const c = await createContainer(config, createLogger(config.logLevel, process.stderr))
  try {
    const result = await sweep({ db: c.db, provider: c.provider, log: c.log, ...options })
    process.stdout.write(`${describeSweep(result, options)}\n`)
    const blobs = await sweepOrphanBlobs({
      db: c.db,
      blobs: c.blobs,
      log: c.log,
      dryRun: options.dryRun,
      minAgeMs: options.minAgeGiven ? options.minAgeMs : config.orphanBlobAgeMs,
    })
    process.stdout.write(`${describeBlobSweep(blobs, options.dryRun)}\n`)
    if (result.failed > 0 || blobs.failed > 0) process.exitCode = 1
  } finally {
    await c.close()
  }
}
