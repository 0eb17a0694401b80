import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { isDatabaseUnavailable, isUniqueViolation } from '../../src/platform/db/errors.js'
import { DB_KIND, PG_URL } from '../harness.js'
import { freePort } from '../support/free-port.js'

/**
 * The one classifier of driver errors, fed the errors the drivers really
 * throw: an unavailable database (refused, busy, timed out) is told apart from
 * a bug or a constraint, which must never answer 503.
 */

const failure = async (work: () => unknown): Promise<unknown> => {
  try {
    await work()
  } catch (err) {
    return err
  }
  throw new Error('expected a failure')
}

test('SQLite: a write lock held past the busy timeout is unavailability; a constraint is not', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-errors-'))
  const file = path.join(dir, 'db.sqlite')
  const a = new SQLite(file)
  const b = new SQLite(file, { timeout: 50 })
  try {
    a.pragma('journal_mode = WAL')
    a.exec('create table t (id integer primary key)')
    a.exec('begin immediate')
    const busy = await failure(() => b.exec('begin immediate'))
    assert.match(String((busy as { code?: string }).code), /^SQLITE_BUSY/)
    assert.equal(isDatabaseUnavailable(busy), true)
    a.exec('insert into t values (1)')
    a.exec('commit')
    const unique = await failure(() => b.exec('insert into t values (1)'))
    assert.equal(isUniqueViolation(unique), true)
    assert.equal(isDatabaseUnavailable(unique), false)
    assert.equal(isDatabaseUnavailable(await failure(() => b.exec('select nope'))), false)
  } finally {
    a.close()
    b.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('PostgreSQL: nobody listening is unavailability, and so is a wrapped cause', async () => {
  const port = await freePort() // closed again: nothing listens on it
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` })
  const refused = await failure(() => client.connect())
  assert.equal(isDatabaseUnavailable(refused), true)
  assert.equal(isDatabaseUnavailable(new Error('while uploading', { cause: refused })), true)
  assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true)
  assert.equal(isDatabaseUnavailable(new Error('something else')), false)
  assert.equal(isDatabaseUnavailable(null), false)
})

if (DB_KIND === 'postgres') {
  test('PostgreSQL: a statement timeout is unavailability; a syntax error or a duplicate is not', async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    try {
      await client.query('set statement_timeout = 50')
      const slow = await failure(() => client.query('select pg_sleep(2)'))
      assert.equal((slow as { code?: string }).code, '57014')
      assert.equal(isDatabaseUnavailable(slow), true)
      await client.query('set statement_timeout = 0')
      assert.equal(isDatabaseUnavailable(await failure(() => client.query('selec 1'))), false)
      await client.query('create temporary table t (id int primary key)')
      await client.query('insert into t values (1)')
      const duplicate = await failure(() => client.query('insert into t values (1)'))
      assert.equal(isUniqueViolation(duplicate), true)
      assert.equal(isDatabaseUnavailable(duplicate), false)
    } finally {
      await client.end()
    }
  })
}
