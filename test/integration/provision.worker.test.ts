import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JobHandler } from '../../src/platform/jobs/job-queue.js'
import { PermanentJobError } from '../../src/platform/jobs/job-queue.js'
import { type JobFailureHook, Worker } from '../../src/platform/jobs/worker.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { until } from '../support/until.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

async function jobRow(id: string) {
  return t.c.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
}

function workerWith(
  handlers: Record<string, JobHandler>,
  hooks: Record<string, JobFailureHook> = {},
  options: ConstructorParameters<typeof Worker>[1] = {},
) {
  return new Worker(
    {
      queue: t.c.queue,
      jobHandlers: new Map(Object.entries(handlers)),
      jobFailureHooks: new Map(Object.entries(hooks)),
      log: t.c.log,
    },
    { backoffMs: 20, maxBackoffMs: 100, ...options },
  ).start()
}

test('an ordinary error is retried with backoff until the handler succeeds', async () => {
  const seen: number[] = []
  const worker = workerWith({
    'test.flaky': async (_payload, job) => {
      seen.push(Date.now())
      if (job.attempts < 3) throw new Error(`flaky ${job.attempts}`)
    },
  })
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.flaky', payload: {} })
  await until(async () => (await jobRow(id)) === undefined)
  await worker.stop()
  assert.equal(seen.length, 3, 'ran three times, then completed (the row is gone)')
  assert.ok(seen[2]! - seen[1]! >= 20, 'waited before retrying')
})

test('the last attempt fails the job with its reason and runs the failure hook', async () => {
  const failed: string[] = []
  const worker = workerWith(
    {
      'test.broken': async () => {
        throw new Error('provider answered 503')
      },
    },
    { 'test.broken': async (_payload, reason) => void failed.push(reason) },
    { maxAttempts: 3 },
  )
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.broken', payload: { fileId: 'x' } })
  const row = await until(async () => {
    const r = await jobRow(id)
    return r?.state === 'failed' && r
  })
  await worker.stop()
  assert.equal(Number(row.attempts), 3)
  assert.equal(row.last_error, 'provider answered 503')
  assert.deepEqual(failed, ['provider answered 503'])
})

test('a PermanentJobError fails at once; an unknown kind fails with a reason', async () => {
  let runs = 0
  const failed: string[] = []
  const worker = workerWith(
    {
      'test.permanent': async () => {
        runs++
        throw new PermanentJobError('The file is not an image')
      },
    },
    { 'test.permanent': async (_payload, reason) => void failed.push(reason) },
  )
  const a = await t.c.queue.enqueue(t.c.db, { kind: 'test.permanent', payload: {} })
  const b = await t.c.queue.enqueue(t.c.db, { kind: 'test.nobody', payload: {} })
  const [ra, rb] = await until(async () => {
    const rows = [await jobRow(a), await jobRow(b)]
    return rows.every((r) => r?.state === 'failed') && rows
  })
  await worker.stop()
  assert.equal(runs, 1)
  assert.equal(Number(ra!.attempts), 1)
  assert.deepEqual(failed, ['The file is not an image'])
  assert.match(rb!.last_error ?? '', /No handler for job kind 'test.nobody'/)
})

test('a job completed in the handler’s transaction ends with it; the worker completes nothing more', async () => {
  let outside = 0
  const queue = Object.assign(Object.create(t.c.queue) as typeof t.c.queue, {
    complete: (
      job: Parameters<typeof t.c.queue.complete>[0],
      trx?: Parameters<typeof t.c.queue.complete>[1],
    ) => {
      if (!trx) outside++
      return t.c.queue.complete(job, trx)
    },
  })
  const worker = new Worker(
    {
      queue,
      jobHandlers: new Map<string, JobHandler>([
        [
          'test.atomic',
          async (payload, _job, run) => {
            await t.c.db.transaction().execute(async (trx) => {
              await trx
                .insertInto('settings')
                .values({ key: String(payload.key), value: 'done' })
                .execute()
              await run?.complete(trx)
            })
          },
        ],
      ]),
      log: t.c.log,
    },
    { backoffMs: 20, maxBackoffMs: 100 },
  ).start()
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.atomic', payload: { key: 'test.atomic.1' } })
  await until(async () => (await jobRow(id)) === undefined)
  await worker.stop()
  const marker = await t.c.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'test.atomic.1')
    .executeTakeFirst()
  assert.equal(marker?.value, 'done')
  assert.equal(outside, 0, 'no second delete after the handler’s own commit')
})

test('a transaction that completed its job and then rolled back leaves the job to retry', async () => {
  const committed: number[] = []
  const worker = workerWith({
    'test.rollback': async (_payload, job, run) => {
      await t.c.db.transaction().execute(async (trx) => {
        await run?.complete(trx)
        if (job.attempts === 1) throw new Error('the write failed after the job was completed in it')
        committed.push(job.attempts)
      })
    },
  })
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.rollback', payload: {} })
  await until(async () => (await jobRow(id)) === undefined)
  await worker.stop()
  assert.deepEqual(committed, [2], 'the rolled-back completion did not end the job; the retry did')
})

test('runs at most `concurrency` jobs at once', async () => {
  let running = 0
  let peak = 0
  const worker = workerWith(
    {
      'test.slow': async () => {
        running++
        peak = Math.max(peak, running)
        await sleep(50)
        running--
      },
    },
    {},
    { concurrency: 2 },
  )
  const ids = await Promise.all(
    Array.from({ length: 6 }, () => t.c.queue.enqueue(t.c.db, { kind: 'test.slow', payload: {} })),
  )
  await until(async () => (await Promise.all(ids.map(jobRow))).every((r) => r === undefined))
  await worker.stop()
  assert.equal(peak, 2)
})

test('a job that yields its slot lets the next one start, and runs on until its handler returns', async () => {
  let busy = 0
  let peak = 0
  let yielded = 0
  let open = () => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const worker = workerWith(
    {
      'test.yielding': async (_payload, _job, run) => {
        busy++
        peak = Math.max(peak, busy)
        await sleep(10)
        busy--
        yielded++
        run?.yieldSlot()
        run?.yieldSlot() // twice is once
        await gate
      },
    },
    {},
    { concurrency: 1 },
  )
  const ids = await Promise.all(
    Array.from({ length: 4 }, () => t.c.queue.enqueue(t.c.db, { kind: 'test.yielding', payload: {} })),
  )
  await until(async () => yielded === 4)
  assert.equal(peak, 1, 'one at a time before yielding')
  assert.equal(worker.busy, 4, 'the yielded jobs still run')
  assert.equal((await Promise.all(ids.map(jobRow))).filter(Boolean).length, 4, 'and are not complete')
  open()
  await until(async () => (await Promise.all(ids.map(jobRow))).every((r) => r === undefined))
  await worker.stop()
})

test('stop() waits for a running job, and gives back one that outlasts the wait', async () => {
  let release = () => {}
  const worker = workerWith({
    'test.stuck': () =>
      new Promise<void>((resolve) => {
        release = resolve
      }),
  })
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.stuck', payload: {} })
  await until(async () => (await jobRow(id))?.locked_by === worker.id)
  await worker.stop(100)
  const row = await jobRow(id)
  assert.equal(row?.state, 'queued')
  assert.equal(row?.locked_by, null, 'released for another worker')
  assert.equal(Number(row?.attempts), 0, 'a give-back does not count as an attempt')
  release()
  // Nobody else runs it here; clean up.
  await t.c.db.deleteFrom('jobs').where('id', '=', id).execute()
})

test('claims ahead two jobs a slot, starts them as slots free, and gives back those not started at stop()', async () => {
  const started: string[] = []
  let release = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const worker = workerWith(
    {
      'test.queued': async (_payload, job) => {
        started.push(job.id)
        await gate
      },
    },
    {},
    { concurrency: 1 },
  )
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push(await t.c.queue.enqueue(t.c.db, { kind: 'test.queued', payload: {} }))
  const held = async () => (await Promise.all(ids.map(jobRow))).filter((r) => r?.locked_by === worker.id)
  await until(async () => (await held()).length === 3)
  await sleep(50)
  assert.equal(started.length, 1, 'one slot, one running job')
  assert.equal((await held()).length, 3, 'and two claimed ahead, no more')
  const stopped = worker.stop(100)
  const rows = await until(async () => {
    const r = await Promise.all(ids.map(jobRow))
    return r.every((row) => row?.locked_by === null) && r
  })
  await stopped
  assert.equal(started.length, 1, 'the jobs claimed ahead never ran')
  assert.deepEqual(
    rows.map((r) => Number(r?.attempts)),
    [0, 0, 0, 0, 0],
    'gave back untouched',
  )
  release()
  await t.c.db.deleteFrom('jobs').where('id', 'in', ids).execute()
})

test('a heartbeat keeps the lease of a long job; a dead worker’s job returns after its lease', async () => {
  let finish = () => {}
  const worker = workerWith(
    {
      'test.long': () =>
        new Promise<void>((resolve) => {
          finish = resolve
        }),
    },
    {},
    { leaseMs: 300 },
  )
  const id = await t.c.queue.enqueue(t.c.db, { kind: 'test.long', payload: {} })
  await until(async () => (await jobRow(id))?.locked_by === worker.id)
  await sleep(700)
  assert.equal((await t.c.queue.claim('other', 5, 300)).length, 0, 'still held after twice its lease')
  finish()
  await until(async () => (await jobRow(id)) === undefined)
  await worker.stop()

  // A claim nobody renews (its worker was killed) is due again once the lease runs out.
  const orphan = await t.c.queue.enqueue(t.c.db, { kind: 'test.orphan', payload: {} })
  const [claimed] = await t.c.queue.claim('dead', 1, 200)
  assert.equal(claimed?.id, orphan)
  assert.equal((await t.c.queue.claim('alive', 1, 200)).length, 0)
  await sleep(250)
  assert.equal((await t.c.queue.claim('alive', 1, 200))[0]?.id, orphan)
  await t.c.db.deleteFrom('jobs').where('id', '=', orphan).execute()
})

/** Once the due jobs earlier tests left are done or failed, and the worker's last claim has come back. */
async function quiet(): Promise<void> {
  await until(async () => {
    const due = await t.c.db
      .selectFrom('jobs')
      .select('id')
      .where('state', '=', 'queued')
      .where('run_at', '<=', Date.now())
      .execute()
    return due.length === 0
  })
  await sleep(100)
}

/** A worker on a queue that counts its claims. */
function countingClaims(
  handlers: Record<string, JobHandler>,
  options: ConstructorParameters<typeof Worker>[1],
) {
  const counted = { claims: 0 }
  const queue = Object.assign(Object.create(t.c.queue) as typeof t.c.queue, {
    claim: (...args: Parameters<typeof t.c.queue.claim>) => {
      counted.claims++
      return t.c.queue.claim(...args)
    },
  })
  const worker = new Worker(
    { queue, jobHandlers: new Map(Object.entries(handlers)), log: t.c.log },
    { pollMs: 60_000, ...options },
  ).start()
  return { worker, counted }
}

test('a job made with jobRow comes leased to this process’s worker, which runs it without a claim', async () => {
  let claimsWhenRun = -1
  let attempts = 0
  const { worker, counted } = countingClaims(
    {
      'test.handed': async (_payload, job) => {
        claimsWhenRun = counted.claims
        attempts = job.attempts
      },
    },
    {},
  )
  await quiet()
  const before = counted.claims
  const row = t.c.queue.jobRow({ kind: 'test.handed', payload: { n: 1 } })
  assert.equal(row.locked_by, worker.id)
  assert.equal(row.attempts, 1)
  await t.c.db.insertInto('jobs').values(row).execute()
  t.c.queue.notify(row)
  await until(async () => (await jobRow(row.id)) === undefined)
  await worker.stop()
  assert.equal(claimsWhenRun, before, 'it started without a claim')
  assert.equal(attempts, 1)
})

test('a leased job its producer never handed over is claimed again once the lease runs out', async () => {
  let attempts = 0
  const { worker } = countingClaims(
    {
      'test.orphan': async (_payload, job) => {
        attempts = job.attempts
      },
    },
    { pollMs: 50, leaseMs: 300 },
  )
  const row = t.c.queue.jobRow({ kind: 'test.orphan', payload: {} })
  assert.equal(row.locked_by, worker.id)
  await t.c.db.insertInto('jobs').values(row).execute()
  // No notify: the producer died after its commit.
  await sleep(150)
  assert.ok(await jobRow(row.id), 'not claimable while its lease holds')
  await until(async () => (await jobRow(row.id)) === undefined)
  await worker.stop()
  assert.equal(attempts, 2)
})

test('a worker with a full ready list takes no more: new jobs wait for a claim', async () => {
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const { worker } = countingClaims({ 'test.busy': () => held }, { concurrency: 1, pollMs: 50 })
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push(await t.c.queue.enqueue(t.c.db, { kind: 'test.busy', payload: { i } }))
  // One runs, two wait claimed in the ready list: as many as it keeps.
  await until(async () => (await Promise.all(ids.map(jobRow))).every((r) => r?.locked_by === worker.id))
  const row = t.c.queue.jobRow({ kind: 'test.busy', payload: { i: 3 } })
  assert.equal(row.locked_by, null)
  assert.equal(row.attempts, 0)
  release()
  await t.c.db.insertInto('jobs').values(row).execute()
  t.c.queue.notify(row)
  await until(async () => (await Promise.all([...ids, row.id].map(jobRow))).every((r) => r === undefined))
  await worker.stop()
})

test('an idle queue is not asked again after every job; a backlog is claimed as slots free', async () => {
  const ran: number[] = []
  const handed = countingClaims({ 'test.idle': async (payload) => void ran.push(Number(payload.n)) }, {})
  await quiet()
  const before = handed.counted.claims
  for (let n = 0; n < 5; n++) {
    const row = t.c.queue.jobRow({ kind: 'test.idle', payload: { n } })
    await t.c.db.insertInto('jobs').values(row).execute()
    t.c.queue.notify(row)
    await until(async () => (await jobRow(row.id)) === undefined)
  }
  await handed.worker.stop()
  assert.deepEqual(ran, [0, 1, 2, 3, 4])
  assert.equal(handed.counted.claims, before, 'five jobs handed over, no claim')

  // Twelve jobs already due when the worker starts, no notice and no poll in time: each freed slot claims.
  const ids: string[] = []
  for (let i = 0; i < 12; i++) {
    const row = t.c.queue.jobRow({ kind: 'test.backlog', payload: { i } })
    await t.c.db.insertInto('jobs').values(row).execute()
    ids.push(row.id)
  }
  const backlog = countingClaims({ 'test.backlog': async () => {} }, { concurrency: 1 })
  await until(async () => (await Promise.all(ids.map(jobRow))).every((r) => r === undefined))
  await backlog.worker.stop()
  assert.ok(backlog.counted.claims >= 4, `${backlog.counted.claims} claims of at most three jobs each`)
})
