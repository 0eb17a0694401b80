import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { ConfigError, loadConfig } from '../../src/config.js'
import { sweepOrphanBlobs } from '../../src/features/files/orphan-blobs.js'
import { createS3Client, S3BlobStore } from '../../src/platform/blob-store/s3-blob-store.js'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { AppError } from '../../src/shared/errors.js'
import { newId } from '../../src/shared/ids.js'
import { blobStoreContract } from '../contract/blob-store.contract.js'
import { expectError } from '../expect.js'
import { blobFiles, type FileBody, newUser, newWorkspace, runJobs, uploadRaw } from '../factories.js'
import { createTestEnv } from '../harness.js'
import { samplePng } from '../support/images.js'
import { apiCall, childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'
import { chosenS3Server, type RealS3Controls, startS3Server, uniqueBucket } from '../support/s3-server.js'
import { until } from '../support/until.js'

const MiB = 1024 * 1024
const s3 = await startS3Server()
const bucket = uniqueBucket()
const client = await s3.clientFor(bucket)
after(async () => {
  client.destroy()
  await s3.stop()
})
/** Tests of what only a real server does (signatures, quotas, gateways that die): they run on radosgw, as CI does. */
const realOnly = { skip: s3.real ? false : 'needs the real S3 server (radosgw); this run has the fake' }

test(`the S3 server of this run is ${s3.kind}`, (t) => {
  t.diagnostic(`${s3.kind} at ${s3.endpoint}${s3.real ? `, up in ${s3.real.startMs} ms` : ''}`)
  assert.equal(s3.kind, chosenS3Server().kind)
  if (process.env.CI === 'true') assert.equal(s3.kind, 'radosgw', 'CI proves the adapter on the real server')
})

test('the helper runs the real server when installed, the fake only when told or outside CI, and says why', () => {
  const installed = process.env.PATH ?? ''
  const missing = '/nonexistent'
  if (s3.kind === 'radosgw') {
    assert.equal(chosenS3Server({ PATH: installed }).kind, 'radosgw')
    assert.equal(chosenS3Server({ PATH: installed, CI: 'true' }).kind, 'radosgw')
  }
  assert.equal(chosenS3Server({ PATH: installed, PICTURA_TEST_S3: 'fake' }).kind, 'fauxqs')
  const fallback = chosenS3Server({ PATH: missing })
  assert.equal(fallback.kind, 'fauxqs')
  assert.match(fallback.why, /apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw/)
  assert.throws(() => chosenS3Server({ PATH: missing, CI: 'true' }), /required \(CI\); missing .*radosgw/)
  assert.throws(() => chosenS3Server({ PATH: missing, PICTURA_TEST_S3: 'real' }), /PICTURA_TEST_S3=real/)
  assert.throws(() => chosenS3Server({ PATH: installed, PICTURA_TEST_S3: 'minio' }), /use real or fake/)
})

blobStoreContract('s3', async () => ({
  store: new S3BlobStore(client, bucket, { prefix: `contract-${token()}` }),
  close: async () => {},
}))

/** A store in a folder of its own, so listings in one test never see another's objects. */
function freshStore(options: { staleUploadMs?: number } = {}) {
  const prefix = `t-${token()}/`
  return { prefix, store: new S3BlobStore(client, bucket, { prefix, ...options }) }
}

const objectKeys = async (prefix: string) =>
  ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
    (o) => o.Key,
  )
const pendingUploads = async (prefix: string) =>
  (
    (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? []
  ).map((u) => u.Key)
const pendingUploadsIn = async (c: S3Client, b: string) =>
  ((await c.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads ?? []).map((u) => u.Key)

test('a 128 MiB stream goes through put() in bounded memory and reads back byte for byte', {
  timeout: 120_000,
}, async (t) => {
  const { store } = freshStore()
  const size = 128 * MiB
  const expected = createHash('sha256')
  const before = process.memoryUsage()
  let peakRss = before.rss
  let peakHeap = before.heapUsed
  const sampler = setInterval(() => {
    const now = process.memoryUsage()
    peakRss = Math.max(peakRss, now.rss)
    peakHeap = Math.max(peakHeap, now.heapUsed)
  }, 10)
  let put: { size: number; sha256: string }
  try {
    put = await store.put('ws_big/fil_big', generated(size, expected), { maxBytes: 200 * MiB })
  } finally {
    clearInterval(sampler)
  }
  const rssGrowth = (peakRss - before.rss) / MiB
  const heapGrowth = (peakHeap - before.heapUsed) / MiB
  t.diagnostic(
    `peak growth while streaming: RSS ${rssGrowth.toFixed(1)} MiB, heap ${heapGrowth.toFixed(1)} MiB`,
  )
  assert.deepEqual(put, { size, sha256: expected.digest('hex') })
  // About (queueSize + 2) parts of 8 MiB are held at once; holding the stream would take 128 MiB or more.
  assert.ok(rssGrowth < 96, `RSS grew by ${rssGrowth.toFixed(1)} MiB while streaming ${size / MiB} MiB`)
  assert.ok(heapGrowth < 32, `heap grew by ${heapGrowth.toFixed(1)} MiB while streaming ${size / MiB} MiB`)

  assert.deepEqual(await store.stat('ws_big/fil_big'), { size })
  const readBack = createHash('sha256')
  for await (const chunk of await store.get('ws_big/fil_big')) readBack.update(chunk as Buffer)
  assert.equal(readBack.digest('hex'), put.sha256)
  // A range across the boundary of the first two 8 MiB parts.
  const start = 8 * MiB - 3
  const range = await buffer(await store.get('ws_big/fil_big', { start, end: start + 5 }))
  assert.deepEqual(
    [...range],
    [0, 1, 2, 3, 4, 5].map((i) => byteAt(start + i)),
  )
  await store.delete('ws_big/fil_big')
})

test('an upload over the cap after several parts is refused and leaves no object and no pending upload', async () => {
  const { prefix, store } = freshStore()
  await assert.rejects(
    store.put('ws_a/fil_over', generated(30 * MiB), { maxBytes: 20 * MiB }),
    (err: unknown) => err instanceof AppError && err.code === 'payload_too_large',
  )
  assert.equal(await store.stat('ws_a/fil_over'), null)
  assert.deepEqual(await objectKeys(prefix), [])
  assert.deepEqual(await pendingUploads(prefix), [])
})

test('a multipart upload in flight is invisible until it completes', async () => {
  const { prefix, store } = freshStore()
  const source = new Readable({ read() {} })
  const pending = store.put('ws_a/fil_slow', source, { maxBytes: 100 * MiB })
  source.push(randomBytes(20 * MiB))
  await until(async () => (await pendingUploads(prefix)).length === 1)
  assert.equal(await store.stat('ws_a/fil_slow'), null)
  assert.deepEqual(await objectKeys(prefix), [])
  source.push(randomBytes(MiB))
  source.push(null)
  assert.equal((await pending).size, 21 * MiB)
  assert.deepEqual(await objectKeys(prefix), [`${prefix}ws_a/fil_slow`])
  assert.deepEqual(await pendingUploads(prefix), [])
})

test('a writer killed mid-upload leaves no object; cleanup() aborts its stale upload', async () => {
  const { prefix } = freshStore()
  const writer = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', killedWriter], {
    env: { ...process.env, S3_TEST: JSON.stringify({ connection: s3.connection(bucket), prefix }) },
    stdio: 'inherit',
  })
  try {
    await until(async () => (await pendingUploads(prefix)).length === 1, { timeoutMs: 30_000 })
  } finally {
    writer.kill('SIGKILL')
  }
  await new Promise((resolve) => writer.once('exit', resolve))
  assert.deepEqual(await objectKeys(prefix), [])
  assert.deepEqual(await pendingUploads(prefix), [`${prefix}ws_a/fil_crash`])

  // With the default age, a fresh upload may be a live writer on another node: it is kept.
  assert.equal(await new S3BlobStore(client, bucket, { prefix }).cleanup(), 0)
  assert.equal(await new S3BlobStore(client, bucket, { prefix, staleUploadMs: 0 }).cleanup(), 1)
  assert.deepEqual(await pendingUploads(prefix), [])
  assert.deepEqual(await objectKeys(prefix), [])
})

test("cleanup() touches only unfinished uploads under the store's own prefix", async () => {
  const mine = freshStore({ staleUploadMs: 0 })
  const other = freshStore()
  await leaveUnfinishedUpload(client, `${mine.prefix}ws_a/fil_1`)
  await leaveUnfinishedUpload(client, `${mine.prefix}ws_b/fil_2`)
  await leaveUnfinishedUpload(client, `${other.prefix}ws_a/fil_1`)
  assert.equal(await mine.store.cleanup(), 2)
  assert.deepEqual(await pendingUploads(mine.prefix), [])
  assert.deepEqual(await pendingUploads(other.prefix), [`${other.prefix}ws_a/fil_1`])
})

test('deletePrefix removes a folder of more than 1000 objects (several list pages and delete batches)', async () => {
  const { prefix, store } = freshStore()
  const count = 1001
  const keys = Array.from({ length: count }, (_, i) => `${prefix}ws_many/fil_${String(i).padStart(5, '0')}`)
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))),
    )
  }
  await store.put('ws_kept/fil_1', Readable.from([Buffer.from('kept')]), { maxBytes: 10 })
  await store.deletePrefix('ws_many/')
  assert.deepEqual(await objectKeys(`${prefix}ws_many/`), [])
  assert.equal((await buffer(await store.get('ws_kept/fil_1'))).toString(), 'kept')
})

test('BLOB_STORE=s3 without its variables stops start-up, naming each missing or invalid one', () => {
  assert.throws(
    () => loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'Not_A_Bucket', S3_FORCE_PATH_STYLE: 'maybe' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      const text = err.problems.join('\n')
      for (const name of ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
        assert.match(text, new RegExp(`${name} is required when BLOB_STORE=s3`))
      }
      assert.match(text, /S3_BUCKET="Not_A_Bucket" is invalid/)
      assert.match(text, /S3_FORCE_PATH_STYLE="maybe" is invalid/)
      assert.doesNotMatch(text, /not available/)
      return true
    },
  )
  const config = loadConfig(s3.env('my-bucket'))
  assert.equal(config.blobStore, 's3')
  assert.deepEqual(config.s3, s3.connection('my-bucket'))
  assert.equal(loadConfig({}).s3, null)
})

test('with BLOB_STORE=s3 an uploaded file downloads back whole and in ranges, and its delete empties the bucket', async () => {
  const apiBucket = uniqueBucket()
  const apiClient = await s3.clientFor(apiBucket)
  const t = await createTestEnv({ ...s3.env(apiBucket), MAX_UPLOAD_BYTES: String(10 * MiB) })
  try {
    const u = await newUser(t)
    const ws = await newWorkspace(u)
    const png = await samplePng('rgb')
    const res = await uploadRaw(t, u.token, ws.id, png)
    assert.equal(res.statusCode, 201, res.body)
    const file = res.json() as FileBody
    assert.equal(file.sha256, createHash('sha256').update(png).digest('hex'))
    const stored = (await apiClient.send(new ListObjectsV2Command({ Bucket: apiBucket }))).Contents ?? []
    assert.deepEqual(
      stored.map((o) => o.Size),
      [png.length],
      'the bytes live in the bucket, not on local disk',
    )
    assert.deepEqual(blobFiles(t), [])

    const whole = await u.api.get(`/api/files/${file.id}/content`)
    assert.equal(whole.statusCode, 200)
    assert.equal(whole.headers['content-type'], 'image/png')
    assert.ok(whole.rawPayload.equals(png))
    const part = await u.api.get(`/api/files/${file.id}/content`, { range: 'bytes=8-23' })
    assert.equal(part.statusCode, 206)
    assert.ok(part.rawPayload.equals(png.subarray(8, 24)))

    const over = await uploadRaw(t, u.token, ws.id, generated(12 * MiB))
    expectError(over, 413, 'payload_too_large')
    const pending = await apiClient.send(new ListMultipartUploadsCommand({ Bucket: apiBucket }))
    assert.deepEqual(pending.Uploads ?? [], [], 'the refused upload left no parts behind')

    assert.equal((await u.api.del(`/api/files/${file.id}`)).statusCode, 200)
    await runJobs(t, JobKinds.blobDelete)
    assert.equal((await apiClient.send(new ListObjectsV2Command({ Bucket: apiBucket }))).KeyCount ?? 0, 0)
  } finally {
    await t.close()
    apiClient.destroy()
  }
})

test('with BLOB_STORE=s3 the orphan sweep removes an old blob without a row and spares a fresh one', async () => {
  const apiBucket = uniqueBucket()
  const apiClient = await s3.clientFor(apiBucket)
  const t = await createTestEnv(s3.env(apiBucket))
  try {
    const u = await newUser(t)
    const ws = await newWorkspace(u)
    const live = (await uploadRaw(t, u.token, ws.id, Buffer.from('with its row'))).json() as FileBody
    const put = (key: string) => t.c.blobs.put(key, Readable.from([Buffer.from(key)]), { maxBytes: 1000 })
    const old = `${ws.id}/${newId('fil')}`
    await put(old)
    // S3 keeps whole seconds: the fresh one is written well after the old one, and the window lies between.
    await sleep(3_000)
    const fresh = `${ws.id}/${newId('fil')}`
    await put(fresh)
    const result = await sweepOrphanBlobs({ db: t.c.db, blobs: t.c.blobs, log: t.c.log, minAgeMs: 1_500 })
    assert.deepEqual(
      { scanned: result.scanned, live: result.live, spared: result.spared, removed: result.removed },
      { scanned: 3, live: 1, spared: 1, removed: 1 },
    )
    const keys = ((await apiClient.send(new ListObjectsV2Command({ Bucket: apiBucket }))).Contents ?? []).map(
      (o) => o.Key,
    )
    assert.deepEqual(keys.sort(), [`${ws.id}/${live.id}`, fresh].sort())
  } finally {
    await t.close()
    apiClient.destroy()
  }
})

test('DeleteObjects carries Content-MD5, which S3 requires (Swift s3api refuses the request without it)', async () => {
  const spied = createS3Client(s3.connection(bucket))
  const sent: { headers: Record<string, string>; body: unknown }[] = []
  spied.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectsCommand') {
        sent.push(args.request as { headers: Record<string, string>; body: unknown })
      }
      return next(args)
    },
    { step: 'finalizeRequest', name: 'spy' },
  )
  const prefix = `t-${token()}/`
  const store = new S3BlobStore(spied, bucket, { prefix })
  await store.put('ws_a/fil_1', Readable.from([Buffer.from('one')]), { maxBytes: 10 })
  await store.put('ws_a/fil_2', Readable.from([Buffer.from('two')]), { maxBytes: 10 })
  await store.deletePrefix('ws_a/')
  assert.deepEqual(await objectKeys(prefix), [])
  assert.equal(sent.length, 1)
  const request = sent[0]!
  assert.equal(typeof request.body, 'string')
  assert.equal(
    request.headers['content-md5'],
    createHash('md5')
      .update(request.body as string)
      .digest('base64'),
  )
  spied.destroy()
})

test(
  'the server checks SigV4 signatures: with a wrong secret every operation fails as unavailable, never as a bug',
  realOnly,
  async () => {
    const { prefix, store: good } = freshStore()
    await good.put('ws_a/fil_1', Readable.from([Buffer.from('kept')]), { maxBytes: 10 })
    const wrong = createS3Client({ ...s3.connection(bucket), secretAccessKey: 'not-the-secret-key' })
    const store = new S3BlobStore(wrong, bucket, { prefix })
    const unavailable = (cause?: string) => (err: unknown) => {
      assert.ok(err instanceof AppError, String(err))
      assert.equal(err.code, 'unavailable')
      assert.equal(err.status, 503)
      if (cause) assert.equal((err.cause as Error).name, cause)
      return true
    }
    await assert.rejects(
      store.put('ws_a/fil_2', Readable.from([Buffer.from('x')]), { maxBytes: 10 }),
      unavailable('SignatureDoesNotMatch'),
    )
    await assert.rejects(store.get('ws_a/fil_1'), unavailable('SignatureDoesNotMatch'))
    await assert.rejects(store.stat('ws_a/fil_1'), unavailable())
    await assert.rejects(store.delete('ws_a/fil_1'), unavailable('SignatureDoesNotMatch'))
    await assert.rejects(store.deletePrefix('ws_a/'), unavailable('SignatureDoesNotMatch'))
    await assert.rejects(store.cleanup(), unavailable('SignatureDoesNotMatch'))
    assert.equal((await buffer(await good.get('ws_a/fil_1'))).toString(), 'kept', 'nothing was changed')
    assert.equal(await good.stat('ws_a/fil_2'), null)
    wrong.destroy()
  },
)

test(
  'a bucket over its quota refuses writes as insufficient_storage (507 through the API), keeps nothing of them, and takes writes again once room is made',
  realOnly,
  async () => {
    const full = uniqueBucket()
    const fullClient = await s3.clientFor(full)
    await s3.real?.limitBucket(full, 512 * 1024)
    const store = new S3BlobStore(fullClient, full)
    const isFull = (err: unknown) => {
      assert.ok(err instanceof AppError, String(err))
      assert.equal(err.code, 'insufficient_storage')
      assert.equal(err.status, 507)
      assert.equal((err.cause as Error).name, 'QuotaExceeded')
      return true
    }
    await store.put('ws_a/fil_1', generated(400 * 1024), { maxBytes: 100 * MiB })
    // One PutObject, and an upload in parts: both refused, neither leaves an object or a pending upload.
    await assert.rejects(store.put('ws_a/fil_2', generated(200 * 1024), { maxBytes: 100 * MiB }), isFull)
    await assert.rejects(store.put('ws_a/fil_3', generated(20 * MiB), { maxBytes: 100 * MiB }), isFull)
    assert.equal(await store.stat('ws_a/fil_2'), null)
    assert.equal(await store.stat('ws_a/fil_3'), null)
    assert.deepEqual(await pendingUploadsIn(fullClient, full), [])
    assert.equal((await buffer(await store.get('ws_a/fil_1'))).length, 400 * 1024, 'reads still work')

    const t = await createTestEnv(s3.env(full))
    try {
      const u = await newUser(t)
      const ws = await newWorkspace(u)
      const png = await samplePng('rgb')
      const refused = await uploadRaw(t, u.token, ws.id, Buffer.concat([png, randomBytes(200 * 1024)]))
      expectError(refused, 507, 'insufficient_storage')
      const listed = await u.api.get(`/api/files?workspace_id=${ws.id}`)
      assert.equal((listed.json() as { pageInfo: { total: number } }).pageInfo.total, 0, 'no file row either')

      await store.delete('ws_a/fil_1')
      const accepted = await uploadRaw(t, u.token, ws.id, Buffer.concat([png, randomBytes(200 * 1024)]))
      assert.equal(accepted.statusCode, 201, accepted.body)
    } finally {
      await t.close()
      fullClient.destroy()
    }
  },
)

test('a gateway that is gone: the API answers 503 with Retry-After for bytes, rows still answer, a blob delete waits to retry, and a serve started then still serves', {
  ...realOnly,
  timeout: 120_000,
}, async () => {
  const gateway = await (s3.real as RealS3Controls).gateway()
  const b = uniqueBucket()
  const bClient = await s3.clientFor(b)
  const env = { ...s3.env(b), S3_ENDPOINT: gateway.endpoint }
  const t = await createTestEnv(env)
  let serve: PicturaProcess | null = null
  try {
    const u = await newUser(t)
    const ws = await newWorkspace(u)
    // Larger than RecentBlobs keeps, so every read goes to the store.
    const bytes = randomBytes(400 * 1024)
    const up = await uploadRaw(t, u.token, ws.id, bytes)
    assert.equal(up.statusCode, 201, up.body)
    const file = up.json() as FileBody
    assert.ok((await u.api.get(`/api/files/${file.id}/content`)).rawPayload.equals(bytes))

    process.kill(gateway.pid, 'SIGKILL')
    await until(
      async () =>
        !(await fetch(gateway.endpoint).then(
          () => true,
          () => false,
        )),
    )

    const row = await u.api.get(`/api/files/${file.id}`)
    assert.equal(row.statusCode, 200, 'the database part of the API is unaffected')
    const download = await u.api.get(`/api/files/${file.id}/content`)
    expectError(download, 503, 'unavailable')
    assert.equal(download.headers['retry-after'], '5')
    const upload = await uploadRaw(t, u.token, ws.id, randomBytes(100 * 1024))
    expectError(upload, 503, 'unavailable')
    assert.equal(upload.headers['retry-after'], '5')
    const listed = await u.api.get(`/api/files?workspace_id=${ws.id}`)
    assert.equal(
      (listed.json() as { pageInfo: { total: number } }).pageInfo.total,
      1,
      'the refused upload left no row',
    )

    // The file's delete answers at once; removing its bytes is a job, which fails for now and is retried, not dropped.
    assert.equal((await u.api.del(`/api/files/${file.id}`)).statusCode, 200)
    const job = await t.c.db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', JobKinds.blobDelete)
      .executeTakeFirstOrThrow()
    const handler = t.c.jobHandlers.get(JobKinds.blobDelete)
    assert.ok(handler)
    await assert.rejects(
      Promise.resolve().then(() =>
        handler(JSON.parse(job.payload), {
          id: job.id,
          kind: job.kind,
          payload: JSON.parse(job.payload),
          attempts: 1,
        }),
      ),
      (err: unknown) => err instanceof AppError && err.code === 'unavailable',
    )

    // A process that starts while its store is down serves all the same (its start-up clean-up waits for next time).
    serve = await startPictura(
      'serve',
      childEnv({ ...t.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    )
    const me = await apiCall(serve.base, t.adminToken, 'GET', '/api/me')
    assert.equal(me.status, 200)
    const viaServe = await apiCall(
      serve.base,
      t.adminToken,
      'POST',
      `/api/files?workspace_id=${ws.id}`,
      randomBytes(1000),
    )
    assert.equal(viaServe.status, 503)
    assert.equal((viaServe.body.error as { code: string }).code, 'unavailable')
    assert.match(serve.output(), /not cleaned up/)
  } finally {
    await serve?.stop()
    await t.close()
    bClient.destroy()
  }
})

test('a gateway that hangs (SIGSTOP) fails reads and writes as unavailable within the answer timeout, and serves again once it resumes', {
  ...realOnly,
  timeout: 120_000,
}, async () => {
  const gateway = await (s3.real as RealS3Controls).gateway()
  const prefix = `t-${token()}/`
  const hung = createS3Client({ ...s3.connection(bucket), endpoint: gateway.endpoint }, { answerMs: 1000 })
  const store = new S3BlobStore(hung, bucket, { prefix })
  try {
    await store.put('ws_a/fil_1', Readable.from([Buffer.from('before')]), { maxBytes: 100 })
    process.kill(gateway.pid, 'SIGSTOP')
    const unavailable = (err: unknown) => err instanceof AppError && err.code === 'unavailable'
    const started = Date.now()
    await assert.rejects(store.get('ws_a/fil_1'), unavailable)
    await assert.rejects(store.stat('ws_a/fil_1'), unavailable)
    await assert.rejects(store.put('ws_a/fil_2', generated(10 * MiB), { maxBytes: 100 * MiB }), unavailable)
    // Three operations of up to three attempts of 1 s each, and the SDK's back-off between them.
    const took = Date.now() - started
    assert.ok(took < 30_000, `the failures took ${took} ms`)
    process.kill(gateway.pid, 'SIGCONT')
    assert.equal((await buffer(await store.get('ws_a/fil_1'))).toString(), 'before')
    await store.put('ws_a/fil_3', Readable.from([Buffer.from('after')]), { maxBytes: 100 })
    assert.equal(await store.stat('ws_a/fil_2'), null, 'the interrupted put left no object')
  } finally {
    process.kill(gateway.pid, 'SIGKILL')
    hung.destroy()
  }
})

const token = () => randomBytes(6).toString('hex')

/** Byte i of generated(): each 64 KiB chunk is filled with its index mod 251. */
const byteAt = (i: number) => Math.floor(i / (64 * 1024)) % 251

/** `size` bytes made on demand (never held at once), hashed into `hash` as they go out. */
function generated(size: number, hash?: ReturnType<typeof createHash>): Readable {
  const chunkSize = 64 * 1024
  let sent = 0
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null)
        return
      }
      const chunk = Buffer.alloc(Math.min(chunkSize, size - sent), byteAt(sent))
      hash?.update(chunk)
      sent += chunk.length
      this.push(chunk)
    },
  })
}

/** What a crash leaves behind: a multipart upload with a part and no completion. */
async function leaveUnfinishedUpload(c: S3Client, key: string): Promise<void> {
  const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
  await c.send(
    new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }),
  )
}

/** A process that streams into put() and never finishes its source, so it is killed mid-upload. */
const killedWriter = `
  import { Readable } from 'node:stream'
  import { S3BlobStore, createS3Client } from ${JSON.stringify(new URL('../../src/platform/blob-store/s3-blob-store.ts', import.meta.url).href)}
  const { connection, prefix } = JSON.parse(process.env.S3_TEST)
  const store = new S3BlobStore(createS3Client(connection), connection.bucket, { prefix })
  const source = new Readable({ read() {} })
  source.push(Buffer.alloc(20 * 1024 * 1024, 7))
  await store.put('ws_a/fil_crash', source, { maxBytes: 100 * 1024 * 1024 })
`
