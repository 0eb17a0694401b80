#!/usr/bin/env node
import { buildApp } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { createContainer } from './container.js'
import { bootstrapAdmin } from './features/auth/bootstrap.js'
import { migrateToLatest, openDatabase } from './platform/db/database.js'
import { createLogger } from './shared/logger.js'

const USAGE = `Usage: pictura <command>

  serve                  start the HTTP API (and the in-process provisioning worker)
  migrate                apply database migrations and exit
  token create --admin   mint a new token for the first admin and print it
`

async function serve(config: Config) {
  const log = createLogger(config.logLevel)
  const c = await createContainer(config, log)
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

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 30_000)
    force.unref()
    await app.close()
    await c.close()
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
    case 'migrate':
      return migrate(config)
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
