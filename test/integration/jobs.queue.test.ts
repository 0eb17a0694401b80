import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DbJobQueue } from '../../src/platform/jobs/db-job-queue.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

test('claims each due job once', async () => {
  const q = new DbJobQueue(t.c.db, t.c.database.capabilities)
  for (let i = 0; i < 5; i++) await q.enqueue(t.c.db, { kind: 'x', payload: { i } })
  const [a, b] = await Promise.all([q.claim('a', 3, 1000), q.claim('b', 3, 1000)])
  assert.equal(a.length + b.length, 5)
  assert.equal(new Set([...a, ...b].map((j) => j.id)).size, 5)
  assert.equal((await q.claim('c', 3, 1000)).length, 0)
})

test('jobs completed together in a transaction end with its commit, all or none', async () => {
  const q = new DbJobQueue(t.c.db, t.c.database.capabilities)
  for (let i = 0; i < 3; i++) await q.enqueue(t.c.db, { kind: 'y', payload: { i } })
  const jobs = await q.claim('w', 3, 1000)
  assert.equal(jobs.length, 3)
  const left = () => t.c.db.selectFrom('jobs').select('id').where('kind', '=', 'y').execute()
  await assert.rejects(
    t.c.db.transaction().execute(async (trx) => {
      await Promise.all(jobs.map((job) => q.complete(job, trx)))
      throw new Error('rolled back')
    }),
    /rolled back/,
  )
  assert.equal((await left()).length, 3, 'a rollback keeps every job')
  await t.c.db.transaction().execute(async (trx) => {
    await Promise.all(jobs.slice(0, 2).map((job) => q.complete(job, trx)))
    await q.complete(jobs[2]!, trx)
  })
  assert.equal((await left()).length, 0)
})
