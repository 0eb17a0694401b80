import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, test } from 'node:test'
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { sql } from 'kysely'
import sharp from 'sharp'
import { loadConfig } from '../../src/config.js'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { settled } from '../factories.js'
import { createTestEnv, DB_KIND, type TestEnv } from '../harness.js'
import { apiCall, childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'
import { startS3Server, uniqueBucket } from '../support/s3-server.js'

/**
 * Scale-out, end to end: several API and worker processes on one database,
 * uploads over real HTTP through every API process, then the totals, pages
 * and job table must look as if one process had done it all. PostgreSQL runs
 * the deployment shape (2 API nodes without workers, 2 dedicated workers, the
 * originals in S3: the real S3 server of the tests, see support/s3-server.ts),
 * and every original must then download back byte for byte from either API
 * node and stand whole in the bucket; SQLite, one writer at a time, runs 1 API
 * node and 2 worker processes on the same file and data folder. The API nodes
 * run no worker: one woken by its own enqueues claims every job before a
 * polling worker looks, so nothing would compete.
 */

const IMAGES = 500
const IN_FLIGHT = 8
const PAGE = 100
const topology = DB_KIND === 'postgres' ? { apis: 2, workers: 2 } : { apis: 1, workers: 2 }
const s3 = DB_KIND === 'postgres' ? await startS3Server() : null
const bucket = uniqueBucket()
let bucketClient: S3Client | null = null

let t: TestEnv
const started: PicturaProcess[] = []
let apis: PicturaProcess[] = []
let workers: PicturaProcess[] = []
let images: Buffer[] = []
let startupMs = 0

before(async () => {
  t = await createTestEnv()
  await recordClaims()
  bucketClient = s3 ? await s3.clientFor(bucket) : null
  const env = childEnv({
    ...t.env,
    ...(s3 ? s3.env(bucket) : {}),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WORKER_CONCURRENCY: '2',
  })
  const begun = Date.now()
  const launch = (command: 'serve' | 'worker', extra: Record<string, string> = {}) =>
    startPictura(command, { ...env, ...extra }).then((p) => {
      started.push(p)
      return p
    })
  // Start-up (tsx, migrations check, bootstrap) takes seconds per process: all at once.
  const [apiProcs, workerProcs, generated] = await Promise.all([
    Promise.all(Array.from({ length: topology.apis }, () => launch('serve', { WORKER_IN_PROCESS: 'false' }))),
    Promise.all(Array.from({ length: topology.workers }, () => launch('worker'))),
    distinctImages(IMAGES),
  ])
  startupMs = Date.now() - begun
  apis = apiProcs
  workers = workerProcs
  images = generated
})

after(async () => {
  // Graceful stops, so a pg pool or SQLite handle is never cut mid-write before the schema is dropped.
  await Promise.all(started.map((p) => p.stop()))
  await t.close()
  bucketClient?.destroy()
  await s3?.stop()
})

/**
 * Every claim leaves a row through a trigger on `jobs` (a claim is the only
 * write that raises `attempts`): who claimed, who held the job just before,
 * and the error a retry recorded. Test-only instrumentation of this throwaway
 * database, so which process ran what is observed exactly, double claims
 * included, without the app logging anything for it.
 */
async function recordClaims(): Promise<void> {
  await sql`create table claim_log (
    job_id text not null, kind text not null, worker_id text not null, held_by text, last_error text)`.execute(
    t.c.db,
  )
  const row = sql`(new.id, new.kind, new.locked_by, old.locked_by, old.last_error)`
  if (DB_KIND === 'postgres') {
    await sql`create function log_claim() returns trigger language plpgsql as $$
      begin insert into claim_log values ${row}; return new; end $$`.execute(t.c.db)
    await sql`create trigger jobs_claimed after update on jobs for each row
      when (new.attempts > old.attempts) execute function log_claim()`.execute(t.c.db)
  } else {
    await sql`create trigger jobs_claimed after update of attempts on jobs
      when new.attempts > old.attempts begin insert into claim_log values ${row}; end`.execute(t.c.db)
  }
}

/** Small PNGs and JPEGs, each a colour of its own; checked distinct by content hash. */
async function distinctImages(n: number): Promise<Buffer[]> {
  const made = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const background = { r: (i * 53) % 256, g: (i * 97) % 256, b: Math.floor(i / 2) % 256 }
      const img = sharp({ create: { width: 32, height: 32, channels: 3, background } })
      return (i % 2 === 0 ? img.png() : img.jpeg({ quality: 95 })).toBuffer()
    }),
  )
  const hashes = new Set(made.map((b) => createHash('sha256').update(b).digest('hex')))
  assert.equal(hashes.size, n, 'the generated images are distinct')
  return made
}

const call = (base: string, method: string, url: string, body?: Buffer | object) =>
  apiCall(base, t.adminToken, method, url, body)

interface ImagePage {
  data: { id: string; fileId: string }[]
  pageInfo: { total: number; hasNextPage: boolean; endCursor: string | null }
}

const api = (i: number) => apis[i % apis.length]!.base

test(`${IMAGES} uploads through ${topology.apis} API process(es), provisioned by ${topology.workers} worker processes: one image each, exact totals, no double claim`, async () => {
  const ws = await call(api(0), 'POST', '/api/workspaces', { name: 'scale' })
  assert.equal(ws.status, 201)
  const wsId = ws.body.id as string

  // IN_FLIGHT uploads at a time, alternating between the API processes.
  const uploadStart = Date.now()
  const fileIds: string[] = new Array(IMAGES)
  let next = 0
  const lane = async () => {
    for (let i = next++; i < IMAGES; i = next++) {
      const name = `c${i}.${i % 2 === 0 ? 'png' : 'jpg'}`
      const res = await call(
        api(i),
        'POST',
        `/api/files?workspace_id=${wsId}&name=${name}`,
        images[i] as Buffer,
      )
      assert.equal(res.status, 201, `upload ${name}: ${JSON.stringify(res.body)}`)
      fileIds[i] = res.body.id as string
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  const uploadMs = Date.now() - uploadStart

  let rows: Awaited<ReturnType<typeof settled>>
  try {
    rows = await settled(t, fileIds, 60_000)
  } catch (err) {
    const logs = started.map((p) => `[exit ${p.proc.exitCode}] ${p.output().slice(-2000)}`).join('\n---\n')
    throw new Error(`${(err as Error).message}\nprocess output:\n${logs}`)
  }
  const provisionedMs = Date.now() - uploadStart
  // An idle worker must wait for work, not exit (on SQLite no socket holds its event loop).
  assert.deepEqual(
    started.filter((p) => p.proc.exitCode !== null).map((p) => p.output()),
    [],
    'every process still runs',
  )
  assert.deepEqual(
    rows.filter((r) => r.image_status !== 'ready').map((r) => [r.name, r.image_status, r.image_error]),
    [],
    'every file ends ready',
  )

  const perFile = await t.c.db
    .selectFrom('images')
    .select(['file_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('workspace_id', '=', wsId)
    .groupBy('file_id')
    .execute()
  assert.equal(perFile.length, IMAGES, 'every file has an image')
  assert.deepEqual(
    perFile.filter((r) => Number(r.n) !== 1),
    [],
    'exactly one image per file',
  )

  // Every API node answers the same exact total.
  for (const base of apis.map((p) => p.base)) {
    const first = await call(base, 'GET', `/api/images?workspace_id=${wsId}&limit=1`)
    assert.equal(first.status, 200)
    assert.equal((first.body as unknown as ImagePage).pageInfo.total, IMAGES, `total from ${base}`)
  }

  // Pages alternate between nodes: a cursor signed by one is accepted by the other.
  const seen: string[] = []
  const seenFiles = new Set<string>()
  let query = `workspace_id=${wsId}&limit=${PAGE}`
  for (let p = 0; ; p++) {
    const res = await call(api(p), 'GET', `/api/images?${query}`)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const page = res.body as unknown as ImagePage
    assert.equal(page.pageInfo.total, IMAGES)
    for (const image of page.data) {
      seen.push(image.id)
      seenFiles.add(image.fileId)
    }
    if (!page.pageInfo.hasNextPage) break
    assert.ok(p < IMAGES / PAGE, 'the pages end')
    query = `workspace_id=${wsId}&limit=${PAGE}&after=${page.pageInfo.endCursor}`
  }
  assert.equal(seen.length, IMAGES)
  assert.equal(new Set(seen).size, IMAGES, 'paging yields distinct ids')
  assert.deepEqual([...seenFiles].sort(), [...fileIds].sort(), 'the images are those of the uploaded files')

  const counted = await t.c.db
    .selectFrom('images')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', wsId)
    .executeTakeFirstOrThrow()
  const counter = await t.c.db
    .selectFrom('workspace_counters')
    .select('images')
    .where('workspace_id', '=', wsId)
    .executeTakeFirstOrThrow()
  assert.equal(Number(counter.images), Number(counted.n), 'the counter equals COUNT(*)')
  assert.equal(Number(counted.n), IMAGES)

  const leftover = await t.c.db
    .selectFrom('jobs')
    .select(['id', 'state', 'last_error'])
    .where('kind', '=', JobKinds.provision)
    .execute()
  assert.deepEqual(leftover, [], 'no provision job is left (queued or failed)')

  const claims = await sql<{
    job_id: string
    worker_id: string
    held_by: string | null
    last_error: string | null
  }>`
    select job_id, worker_id, held_by, last_error from claim_log where kind = ${JobKinds.provision}`.execute(
    t.c.db,
  )
  assert.deepEqual(
    claims.rows.filter((c) => c.held_by !== null),
    [],
    'no job was claimed while another worker held it',
  )
  const claimsPerJob = new Map<string, typeof claims.rows>()
  const perWorker = new Map<string, number>()
  for (const c of claims.rows) {
    claimsPerJob.set(c.job_id, [...(claimsPerJob.get(c.job_id) ?? []), c])
    perWorker.set(c.worker_id, (perWorker.get(c.worker_id) ?? 0) + 1)
  }
  assert.equal(claimsPerJob.size, IMAGES, 'one provision job per upload was claimed')
  assert.deepEqual(
    [...claimsPerJob.values()].filter((list) => list.length !== 1),
    [],
    'every job ran once: no retry, so no write failed under contention',
  )
  assert.ok(perWorker.size >= 2, `the work is spread: ${JSON.stringify(Object.fromEntries(perWorker))}`)
  const dedicated = new Set(workers.map((w) => w.workerId))
  assert.deepEqual(
    [...perWorker.keys()].filter((id) => !dedicated.has(id)),
    [],
    'with WORKER_IN_PROCESS=false only the worker processes claim',
  )

  const imageRows = await t.c.db
    .selectFrom('images')
    .select(['provider', 'cf_image_id'])
    .where('workspace_id', '=', wsId)
    .execute()
  assert.equal(new Set(imageRows.map((i) => i.cf_image_id)).size, IMAGES, 'one provider copy per image')

  let downloadMs = 0
  if (bucketClient) {
    const downloadStart = Date.now()
    await originalsDownloadWhole(fileIds, bucketClient)
    downloadMs = Date.now() - downloadStart
  }

  console.log(
    `${DB_KIND}${s3 ? ` + ${s3.kind}` : ''}: ${topology.apis} api + ${topology.workers} worker processes started in ${startupMs} ms; ` +
      `${IMAGES} uploads in ${uploadMs} ms, all provisioned ${provisionedMs} ms after the first upload; ` +
      `claims per worker ${JSON.stringify([...perWorker.values()].sort((a, b) => b - a))}` +
      (s3 ? `; every original read back from both API nodes and the bucket in ${downloadMs} ms` : ''),
  )

  for (const p of started) assert.equal(await p.stop(), 0, `graceful stop:\n${p.output().slice(-2000)}`)
})

/**
 * Every original, from each API node (the node that took an upload may still
 * hold its bytes in memory, the other reads them from the bucket) and straight
 * from the bucket: the uploaded bytes, whole, under the file's key.
 */
async function originalsDownloadWhole(fileIds: string[], c: S3Client): Promise<void> {
  const rows = await t.c.db.selectFrom('files').select(['id', 'blob_key', 'sha256']).execute()
  const byId = new Map(rows.map((r) => [r.id, r]))
  let next = 0
  const lane = async () => {
    for (let i = next++; i < fileIds.length; i = next++) {
      const expected = images[i] as Buffer
      const row = byId.get(fileIds[i] as string)
      assert.ok(row, `file ${i} has a row`)
      assert.equal(row.sha256, createHash('sha256').update(expected).digest('hex'))
      for (const api of apis) {
        const res: Response = await fetch(`${api.base}/api/files/${row.id}/content`, {
          headers: { authorization: `Bearer ${t.adminToken}` },
        })
        assert.equal(res.status, 200, `download of file ${i} from ${api.base}`)
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(expected), `file ${i} from ${api.base}`)
      }
      const object = await c.send(new GetObjectCommand({ Bucket: bucket, Key: row.blob_key }))
      assert.ok((await buffer(object.Body as Readable)).equals(expected), `file ${i} in the bucket`)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  let objects = 0
  let token: string | undefined
  do {
    const page = await c.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
    objects += page.KeyCount ?? 0
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  assert.equal(objects, fileIds.length, 'one object per upload, nothing else in the bucket')
}

test('WORKER_IN_PROCESS: serve runs a worker unless told not to', () => {
  assert.equal(loadConfig({}).workerInProcess, true)
  assert.equal(loadConfig({ WORKER_IN_PROCESS: 'false' }).workerInProcess, false)
  assert.throws(() => loadConfig({ WORKER_IN_PROCESS: 'maybe' }), /WORKER_IN_PROCESS="maybe"/)
})
