import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { answers, type PostgresServer, startPostgres } from './support/postgres-server.js'

/**
 * Runs the suite once per database and says so.
 *
 *   tsx test/run.ts                 every test under test/ but test/corpus/ (npm test)
 *   tsx test/run.ts --corpus        only test/corpus/, the real images (npm run test:corpus; see corpus/corpus.ts)
 *   tsx test/run.ts <files...>      the given files
 *
 * PICTURA_TEST_DBS picks the databases (default `sqlite,postgres`). PostgreSQL
 * is PICTURA_TEST_PG_URL when set, else the server on 127.0.0.1:5432 when one
 * answers, else a throwaway server this run starts and stops (support/postgres-server.ts).
 */
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test'

const kinds = (process.env.PICTURA_TEST_DBS ?? 'sqlite,postgres').split(',').map((s) => s.trim())
const args = process.argv.slice(2)
const corpus = args.includes('--corpus')
const given = args.filter((a) => a !== '--corpus')

const files = given.length ? given : suite(corpus ? 'test/corpus' : 'test', corpus ? [] : ['test/corpus'])
const pg = kinds.includes('postgres') ? await postgres() : null

const results: string[] = []
let failed = false
try {
  for (const kind of kinds) {
    process.stdout.write(`\n=== Integration suite on ${kind} ===\n`)
    const status = await run(['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
      PICTURA_TEST_DB: kind,
      ...(pg ? { PICTURA_TEST_PG_URL: pg.url } : {}),
    })
    results.push(`${kind}: ${status === 0 ? 'passed' : 'FAILED'}`)
    failed ||= status !== 0
  }
} finally {
  await pg?.server?.destroy()
}
process.stdout.write(`\n=== Suite ran on ${kinds.join(' and ')}: ${results.join(', ')} ===\n`)
process.exit(failed ? 1 : 0)

/** Node 20's test runner takes no globs: every *.test.ts under `root`, but those under `skip`. */
function suite(root: string, skip: string[]): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(root, f))
    .filter((f) => f.endsWith('.test.ts') && !skip.some((s) => f.startsWith(`${s}${path.sep}`)))
    .sort()
}

async function postgres(): Promise<{ url: string; server?: PostgresServer }> {
  const url = process.env.PICTURA_TEST_PG_URL
  if (url) return { url }
  if (await answers(DEFAULT_PG_URL)) return { url: DEFAULT_PG_URL }
  process.stdout.write('No PostgreSQL answers on 127.0.0.1:5432: starting a throwaway one for this run.\n')
  const server = await startPostgres()
  process.stdout.write(`PostgreSQL ${server.url} (removed at the end)\n`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.destroy().finally(() => process.exit(130)))
  }
  return { url: server.url, server }
}

function run(argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: 'inherit', env: { ...process.env, ...env } })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}
