#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=8
// The young generation's semi-spaces stay at 8 MiB (V8 grows them to 16 under load): every read measured
// faster with the smaller one, which stays in the CPU's caches, and the process stays ~60 MiB smaller
// (bench/RESULTS.md, "What each mechanism buys"). `npm start` passes the same flag; a cluster's API processes get it too.
// MALLOC_ARENA_MAX=2: glibc gives every thread that allocates (libuv's pool, libvips' workers) an arena of
// its own, up to 8 a core, and freed memory stays scattered over them; two keep RSS flat under a long mixed
// load (bench/SOAK.md). `npm start` sets it unless the environment does; glibc reads it at start only.
import cluster from 'node:cluster'
import { type Config, ConfigError, loadConfig } from './config.js'

const USAGE = `Usage: pictura <command>

Server commands (configured by environment variables, see README):
  serve                  start the HTTP API (and a provisioning worker, unless WORKER_IN_PROCESS=false)
  worker                 run only the provisioning worker (no HTTP), e.g. on another machine
  migrate                apply database migrations and exit
  token create --admin   mint a new token for the first admin and print it
  sweep [--dry-run] [--min-age-minutes=60]
                         remove provider copies whose image row is gone (IMAGE_PROVIDER=cloudflare)
                         and stored blobs without a file row (orphans of a crash)

Client commands (talk HTTP to any Pictura: --url/--token, PICTURA_URL/PICTURA_TOKEN, or login):
  login                  check a token and store it with the server's URL (mode 0600)
  import <folder|files...> --workspace <id>
                         upload a photo library, resumable (skips what is there by SHA-256)
  export --workspace <id> <folder>
                         download every original, verified and resumable
  images ls|get|rm       list, show or delete images (--json for scripts)
  files ls               list files (--json for scripts)

  pictura <command> --help   more about one command
`

/** Served by src/cli/ (see its index.ts). */
const CLIENT_COMMANDS = new Set(['login', 'logout', 'import', 'export', 'images', 'files'])

/**
 * The CLI. Commands load their modules on demand, so a cluster's primary
 * (API_PROCESSES > 1) stays a small supervisor that never loads the app.
 */
async function main(argv: string[]) {
  const [command, ...rest] = argv
  // Client commands talk HTTP to a server: they never read the server's configuration.
  if (command !== undefined && CLIENT_COMMANDS.has(command)) {
    process.exit(await (await import('./cli/index.js')).runClientCommand(command, rest))
  }
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
  if (command === 'serve' && config.apiProcesses > 1 && cluster.isPrimary) {
    return (await import('./cluster.js')).servePrimary(config)
  }
  const commands = await import('./commands.js')
  switch (command) {
    case 'serve':
      return commands.serve(config, (await import('./cluster.js')).processRole())
    case 'worker':
      return commands.runWorker(config)
    case 'migrate':
      return commands.migrate(config)
    case 'sweep':
      return commands.runSweep(config, rest)
    case 'token':
      if (rest[0] === 'create' && rest.includes('--admin')) return commands.createAdminToken(config)
      break
  }
  process.stderr.write(USAGE)
  process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2)
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`pictura: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
