#!/usr/bin/env node
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { type Container, createContainer } from './container.js'
import { bootstrapAdmin } from './features/auth/bootstrap.js'
import { describeSweep, parseSweepArgs, sweep } from './features/images/sweep.js'
import { migrateToLatest, openDatabase } from './platform/db/database.js'
import { Worker } from './platform/jobs/worker.js'
import { createLogger, type Logger } from './shared/logger.js'

const USAGE = `Usage: pictura <command>

  serve                  start the HTTP API (and a provisioning worker, unless WORKER_IN_PROCESS=false)
  worker                 run only the provisioning worker (no HTTP), e.g. on another machine
  migrate                apply database migrations and exit
  token create --admin   mint a new token for the first admin and print it
  sweep [--dry-run] [--min-age-minutes=60]
                         remove provider copies whose image row is gone (IMAGE_PROVIDER=cloudflare)
`

async function serve(config: Config) {
  const log = createLogger(config.logLevel)
  const c = await createContainer(config, log)
  const leftovers = await c.blobs.cleanup()
  if (leftovers > 0) log.info({ leftovers }, 'removed temp files of interrupted uploads')
  const boot = await bootstrapAdmin(c, config.bootstrapAdminToken)
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
  lines.push(`API reference: ${base}/docs`)
  process.stdout.write(`${lines.join('\n')}\n`)
  // Off when dedicated `pictura worker` processes do the provisioning.
  const worker = config.workerInProcess ? startWorker(c) : null

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
async function runWorker(config: Config) {
  const log = createLogger(config.logLevel)
  const c = await createContainer(config, log)
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

async function migrate(config: Config) {
  const handle = openDatabase(config.db)
  const applied = await migrateToLatest(handle.db)
  await handle.destroy()
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date\n')
}

async function createAdminToken(config: Config) {
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

/** Removes orphaned provider copies; logs (one line per removal) go to stderr, the summary to stdout. */
async function runSweep(config: Config, args: string[]) {
  const options = parseSweepArgs(args)
  const c = await createContainer(config, createLogger(config.logLevel, process.stderr))
  try {
    const result = await sweep({ db: c.db, provider: c.provider, log: c.log, ...options })
    process.stdout.write(`${describeSweep(result, options)}\n`)
    if (result.failed > 0) process.exitCode = 1
  } finally {
    await c.close()
  }
}

async function main(argv: string[]) {
  const [command, ...rest] = argv
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  switch (command) {
    case 'serve':
      return serve(config)
    case 'worker':
      return runWorker(config)
    case 'migrate':
      return migrate(config)
    case 'sweep':
      return runSweep(config, rest)
    case 'token':
      if (rest[0] === 'create' && rest.includes('--admin')) return createAdminToken(config)
      break
  }
  process.stderr.write(USAGE)
  process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2)
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`pictura: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
