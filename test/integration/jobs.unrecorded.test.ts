import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { ClaimedJob, JobQueue } from '../../src/platform/jobs/job-queue.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { until } from '../support/until.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

test('a job whose failure cannot be recorded (a full disk) runs again soon, not after its lease', async () => {
  const real = t.c.queue
  let refusals = 3
  // The queue as a full disk leaves it: recording the failure fails a few times, then works again.
  const queue: JobQueue = Object.assign(Object.create(real) as JobQueue, {
    retry: (job: ClaimedJob, error: string, runAt: number) => {
      if (refusals > 0) {
        refusals--
        return Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))
      }
      return real.retry(job, error, runAt)
    },
  })
  const runs: number[] = []
  const worker = new Worker(
    {
      queue,
      jobHandlers: new Map([
        [
          'test.disk',
          async (_payload: Record<string, unknown>, job: ClaimedJob) => {
            runs.push(job.attempts)
            if (job.attempts === 1) throw new Error('ENOSPC: no space left on device')
          },
        ],
      ]),
      log: t.c.log,
    },
    // A lease of ten minutes: the test would time out if the job waited for it.
    { leaseMs: 600_000, pollMs: 20, backoffMs: 20, maxBackoffMs: 50 },
  ).start()
  try {
    const id = await real.enqueue(t.c.db, { kind: 'test.disk', payload: {} })
    await until(
      async () =>
        (await t.c.db.selectFrom('jobs').select('id').where('id', '=', id).executeTakeFirst()) === undefined,
      { what: 'the job to run again and complete' },
    )
    assert.equal(refusals, 0, 'the failure was recorded once the fault cleared')
    assert.deepEqual(runs, [1, 2])
  } finally {
    await worker.stop()
  }
})
