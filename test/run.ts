import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'

/**
 * Runs the whole suite once per database and says so. PostgreSQL must answer
 * (CI starts it); set PICTURA_TEST_DBS=sqlite to run only the embedded one by hand.
 */
const kinds = (process.env.PICTURA_TEST_DBS ?? 'sqlite,postgres').split(',').map((s) => s.trim())
// Node 20's test runner takes no globs: list the suite's files here. test/corpus/ reads the real
// image corpora kept next to the repository, which a clone lacks: it runs only with --corpus.
const corpus = process.argv.includes('--corpus')
const given = process.argv.slice(2).filter((a) => a !== '--corpus')
const files = given.length
  ? given
  : readdirSync('test', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts') && f.startsWith(`corpus${path.sep}`) === corpus)
      .map((f) => path.join('test', f))
      .sort()
const results: string[] = []
let failed = false
for (const kind of kinds) {
  process.stdout.write(`\n=== Integration suite on ${kind} ===\n`)
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...files]
  const r = spawnSync(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, PICTURA_TEST_DB: kind },
  })
  results.push(`${kind}: ${r.status === 0 ? 'passed' : 'FAILED'}`)
  failed ||= r.status !== 0
}
process.stdout.write(`\n=== Suite ran on ${kinds.join(' and ')}: ${results.join(', ')} ===\n`)
process.exit(failed ? 1 : 0)
