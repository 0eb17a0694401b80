import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import type { NewImage } from '../../src/features/images/images.repository.js'
import { ProvisionWrites } from '../../src/features/images/provision-writes.js'
import { type ClaimedJob, JobKinds, type JobRun } from '../../src/platform/jobs/job-queue.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { createLogger } from '../../src/shared/logger.js'
import { type Client, createWorkerEnv, settled, upload, type WorkerEnv } from '../factories.js'
import type { TestEnv } from '../harness.js'

let t: TestEnv
let api: Client
let ws: string
let env: WorkerEnv
before(async () => {
  // No worker at first: the tests drive the writes and start their own.
  env = await createWorkerEnv({}, { worker: false })
  ;({ t, api, ws } = env)
})
after(() => env.close())

let seq = 0
const jpeg = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seq++ % 256, g: 0, b: 0 } } })
    .jpeg()
    .toBuffer()

/** The ids of those jobs still in the table. */
async function jobsLeft(jobs: Map<string, ClaimedJob>): Promise<{ id: string }[]> {
  const ids = [...jobs.values()].map((j) => j.id)
  return t.c.db.selectFrom('jobs').select('id').where('id', 'in', ids).execute()
}

/** Uploads `n` JPEGs and claims their provision jobs, keyed by file id. */
async function pendingFiles(n: number): Promise<Map<string, ClaimedJob>> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await upload(api, ws, await jpeg(), `b${i}.jpg`)).id)
  const jobs = await t.c.queue.claim('test', 100, 60_000)
  const byFile = new Map<string, ClaimedJob>()
  for (const job of jobs) if (job.kind === JobKinds.provision) byFile.set(String(job.payload.fileId), job)
  assert.deepEqual(new Set(byFile.keys()), new Set(ids))
  return byFile
}

const row = (fileId: string, id: string, cfImageId = `cf${id.slice(-30).padStart(30, '0')}`): NewImage => ({
  id,
  file_id: fileId,
  workspace_id: ws,
  provider: 'local',
  cf_image_id: cfImageId,
  url_path: `${cfImageId}/public`,
  width: 8,
  height: 8,
  size: 1,
  exif: '{}',
  exif_gps: null,
  thumbhash: null,
  created_at: new Date().toISOString(),
})

const runOf = (job: ClaimedJob): JobRun => ({
  complete: (trx) => t.c.queue.complete(job, trx),
  completeWithin: () => job.id,
  yieldSlot: () => {},
})

async function counter(): Promise<number> {
  const r = await t.c.db
    .selectFrom('workspace_counters')
    .select('images')
    .where('workspace_id', '=', ws)
    .executeTakeFirstOrThrow()
  return Number(r.images)
}

test('results ready together share a transaction; a bad one fails alone and its job stays due', async () => {
  const jobs = await pendingFiles(4)
  const [a, b, c, d] = [...jobs.keys()]
  const before = await counter()
  const warnings: string[] = []
  const log = createLogger('warn', { write: (line: string) => void warnings.push(line) })
  const writes = new ProvisionWrites(t.c.db, t.c.database.capabilities, t.c.queue, log)
  // All four arrive in one turn of the event loop and make one batch.
  const results = await Promise.allSettled([
    writes.write(row(a!, 'img_batch_a'), runOf(jobs.get(a!)!)),
    writes.write(row(b!, 'img_batch_b'), runOf(jobs.get(b!)!)),
    // Reuses a's image id: the batch's insert fails, and so does this result written alone.
    writes.write(row(c!, 'img_batch_a'), runOf(jobs.get(c!)!)),
    writes.write(row(d!, 'img_batch_d'), runOf(jobs.get(d!)!)),
  ])
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  )
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : null)),
    [true, true, null, true],
  )
  const files = await t.c.db
    .selectFrom('files')
    .select(['id', 'image_status', 'image_id'])
    .where('id', 'in', [a!, b!, c!, d!])
    .execute()
  const status = Object.fromEntries(files.map((f) => [f.id, [f.image_status, f.image_id]]))
  assert.deepEqual(status[a!], ['ready', 'img_batch_a'])
  assert.deepEqual(status[b!], ['ready', 'img_batch_b'])
  assert.deepEqual(status[c!], ['pending', null])
  assert.deepEqual(status[d!], ['ready', 'img_batch_d'])
  assert.equal(await counter(), before + 3, 'counted once each, the failed one not at all')
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!, /"size":4,.*a provisioning batch failed/)
  const left = await jobsLeft(jobs)
  assert.deepEqual(
    left.map((j) => j.id),
    [jobs.get(c!)!.id],
    'the landed jobs ended with their images; the failed one is still there to retry',
  )
  await t.c.db.deleteFrom('jobs').where('id', '=', jobs.get(c!)!.id).execute()
})

test('a file that is no longer pending gets no image, and its job still ends with the batch', async () => {
  const jobs = await pendingFiles(2)
  const [a, b] = [...jobs.keys()]
  await t.c.db.updateTable('files').set({ image_status: 'deleted' }).where('id', '=', b!).execute()
  const before = await counter()
  const writes = new ProvisionWrites(t.c.db, t.c.database.capabilities, t.c.queue, t.c.log)
  const results = await Promise.all([
    writes.write(row(a!, 'img_gone_a'), runOf(jobs.get(a!)!)),
    writes.write(row(b!, 'img_gone_b'), runOf(jobs.get(b!)!)),
  ])
  assert.deepEqual(results, [true, false])
  assert.equal(await counter(), before + 1)
  const images = await t.c.db.selectFrom('images').select('id').where('file_id', 'in', [a!, b!]).execute()
  assert.deepEqual(
    images.map((i) => i.id),
    ['img_gone_a'],
  )
  const left = await jobsLeft(jobs)
  assert.equal(left.length, 0)
})

test('a batch waits for a file delete in flight, and the deleted file gets no image', async () => {
  const jobs = await pendingFiles(2)
  const [a, b] = [...jobs.keys()]
  const before = await counter()
  const writes = new ProvisionWrites(t.c.db, t.c.database.capabilities, t.c.queue, t.c.log)
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let deleting!: () => void
  const deleted = new Promise<void>((resolve) => {
    deleting = resolve
  })
  const deletion = t.c.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('files').where('id', '=', b!).execute()
    deleting()
    await held
  })
  await deleted
  let settledEarly = false
  const results = Promise.all([
    writes.write(row(a!, 'img_race_a'), runOf(jobs.get(a!)!)),
    writes.write(row(b!, 'img_race_b'), runOf(jobs.get(b!)!)),
  ]).finally(() => {
    settledEarly = true
  })
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(settledEarly, false, 'the write waits for the delete to commit or roll back')
  release()
  await deletion
  assert.deepEqual(await results, [true, false])
  assert.equal(await counter(), before + 1)
  const images = await t.c.db.selectFrom('images').select('id').where('file_id', 'in', [a!, b!]).execute()
  assert.deepEqual(
    images.map((i) => i.id),
    ['img_race_a'],
  )
  assert.equal((await jobsLeft(jobs)).length, 0)
})

test('a worker provisioning many at once completes each job exactly once, inside its write', async () => {
  // Every end of a job goes through the queue's completion statement: within the image write's
  // transaction (SQLite) or statement (PostgreSQL), never on its own afterwards.
  const ended: string[] = []
  let alone = 0
  const completion = t.c.queue.completion.bind(t.c.queue)
  t.c.queue.completion = (jobIds) => {
    ended.push(...jobIds)
    return completion(jobIds)
  }
  const queue = Object.assign(Object.create(t.c.queue) as typeof t.c.queue, {
    complete: (job: ClaimedJob, trx?: Parameters<typeof t.c.queue.complete>[1]) => {
      if (!trx) alone++
      return t.c.queue.complete(job, trx)
    },
  })
  try {
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push((await upload(api, ws, await jpeg(), `w${i}.jpg`)).id)
    const jobs = await t.c.db.selectFrom('jobs').select('id').where('kind', '=', JobKinds.provision).execute()
    assert.equal(jobs.length, 12)
    const before = await counter()
    const worker = new Worker({ ...t.c, queue }, { concurrency: 6 }).start()
    const rows = await settled(t, ids)
    await worker.stop()
    assert.ok(rows.every((r) => r.image_status === 'ready'))
    const images = await t.c.db.selectFrom('images').select('file_id').where('file_id', 'in', ids).execute()
    assert.equal(images.length, 12)
    assert.equal(await counter(), before + 12)
    assert.deepEqual(
      [...ended].sort(),
      jobs.map((j) => j.id).sort(),
      'each job ended once, with the write of its image',
    )
    assert.equal(alone, 0)
    const left = await t.c.db.selectFrom('jobs').select('id').where('kind', '=', JobKinds.provision).execute()
    assert.equal(left.length, 0)
  } finally {
    delete (t.c.queue as Partial<typeof t.c.queue>).completion
  }
})
