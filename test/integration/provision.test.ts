import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { type Client, createWorkerEnv, json, settled, upload, type WorkerEnv } from '../factories.js'
import type { TestEnv } from '../harness.js'
import { landscape, oversizedJpeg, photo20mp, portrait, SVG, truncatedJpeg } from '../support/images.js'

describe('provisioning with a running worker', () => {
  let t: TestEnv
  let env: WorkerEnv
  let api: Client
  let ws: string
  before(async () => {
    env = await createWorkerEnv()
    ;({ t, api, ws } = env)
  })
  after(() => env.close())

  test('a 20-megapixel JPEG is listed in GET /api/images with its display size (time reported, not asserted)', async () => {
    // A photograph scaled to 20 MP (5472x3648, a common camera size), as a camera would write it.
    const bytes = await photo20mp()
    const file = await upload(api, ws, bytes, '20mp.jpg')
    const answered = Date.now()
    assert.equal(file.image.status, 'pending')
    let listed: { fileId: string; width: number; height: number; size: number } | undefined
    // A ceiling for a stuck worker only: speed is the bench's business, never a timed assertion.
    while (!listed && Date.now() - answered < 60_000) {
      const page = json<{ data: { fileId: string; width: number; height: number; size: number }[] }>(
        await api.get(`/api/images?workspace_id=${ws}`),
      )
      listed = page.data.find((i) => i.fileId === file.id)
      if (!listed) await sleep(20)
    }
    const elapsed = Date.now() - answered
    console.log(
      `# 20 MP JPEG (${(bytes.length / 1e6).toFixed(1)} MB) listed ${elapsed} ms after the upload answer`,
    )
    assert.ok(listed, 'the image is listed')
    assert.deepEqual([listed.width, listed.height, listed.size], [5472, 3648, bytes.length])
  })

  test('a truncated JPEG ends failed with a readable reason, once, and stays a file', async () => {
    const bytes = await truncatedJpeg()
    const file = await upload(api, ws, bytes, 'truncated.jpg')
    const answered = Date.now()
    const [row] = await settled(t, [file.id])
    console.log(`# truncated JPEG failed ${Date.now() - answered} ms after the upload answer`)
    assert.equal(row!.image_status, 'failed')
    assert.match(row!.image_error ?? '', /could not be decoded.*premature end/i)
    const seen = json<UploadedFileView>(await api.get(`/api/files/${file.id}`))
    assert.deepEqual(seen.image, { status: 'failed', id: null, error: row!.image_error })
    // The file says `failed` just before the worker records the job's end.
    const jobOf = () =>
      t.c.db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', JobKinds.provision)
        .where('payload', 'like', `%${file.id}%`)
        .executeTakeFirstOrThrow()
    let job = await jobOf()
    for (let i = 0; i < 50 && job.state !== 'failed'; i++) {
      await sleep(10)
      job = await jobOf()
    }
    assert.equal(job.state, 'failed')
    assert.equal(Number(job.attempts), 1, 'a decode failure is not retried')
    const content = await api.get(`/api/files/${file.id}/content`)
    assert.equal(content.statusCode, 200)
    assert.equal(content.rawPayload.length, bytes.length)
  })

  test('a file over the pixel limit fails with its size in the reason', async () => {
    // A few hundred bytes whose header claims 20000x14000.
    const file = await upload(api, ws, await oversizedJpeg(), 'giant.jpg')
    const [row] = await settled(t, [file.id])
    assert.equal(row!.image_status, 'failed')
    assert.match(row!.image_error ?? '', /20000x14000.*over the limit of 100000000 pixels/)
  })

  test('an orientation-6 photo reports upright dimensions and its EXIF', async () => {
    const file = await upload(api, ws, await portrait(6), 'Portrait_6.jpg')
    await settled(t, [file.id])
    const image = json<{ width: number; height: number; exif: Record<string, unknown> }>(
      await api.get(`/api/images/by-file/${file.id}`),
    )
    // Stored 600x450; orientation 6 turns it a quarter.
    assert.deepEqual([image.width, image.height], [450, 600])
    assert.equal(image.exif.Orientation, 6)
  })

  test('an SVG and a text file are stored, never provisioned', async () => {
    const svg = await upload(api, ws, Buffer.from(SVG), 'check.svg')
    const text = await upload(api, ws, Buffer.from('hello'), 'hello.txt')
    assert.equal(svg.image.status, 'none')
    assert.equal(text.image.status, 'none')
  })
})

type UploadedFileView = { image: { status: string; id: string | null; error: string | null } }

describe('provisioning is idempotent', () => {
  let t: TestEnv
  let api: Client
  let ws: string
  let env: WorkerEnv
  before(async () => {
    // No worker here: the test drives the handler itself.
    env = await createWorkerEnv({}, { worker: false })
    ;({ t, api, ws } = env)
  })
  after(() => env.close())

  test('a job run twice at once and once more leaves exactly one image', async () => {
    const file = await upload(api, ws, await landscape(1), 'l1.jpg')
    const [job] = await t.c.queue.claim('test', 1, 60_000)
    assert.ok(job)
    const handler = t.c.jobHandlers.get(JobKinds.provision)!
    await Promise.all([handler(job.payload, job), handler(job.payload, job)])
    await handler(job.payload, job)
    const images = await t.c.db.selectFrom('images').selectAll().where('file_id', '=', file.id).execute()
    assert.equal(images.length, 1)
    assert.equal(images[0]!.id, `img_${job.id.slice(4)}`, 'the image id comes from the job')
    assert.match(images[0]!.cf_image_id, /^[0-9a-f]{32}$/)
    const counter = await t.c.db
      .selectFrom('workspace_counters')
      .select('images')
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow()
    assert.equal(Number(counter.images), 1)
    const seen = json<UploadedFileView>(await api.get(`/api/files/${file.id}`))
    assert.deepEqual(seen.image, { status: 'ready', id: images[0]!.id, error: null })
    await t.c.queue.complete(job)
  })

  test('a file deleted before its job runs gets no image, and no provider copy stays', async () => {
    const file = await upload(api, ws, await landscape(2), 'l2.jpg')
    assert.equal((await api.del(`/api/files/${file.id}`)).statusCode, 200)
    const jobs = await t.c.queue.claim('test', 10, 60_000)
    const job = jobs.find((j) => j.kind === JobKinds.provision)
    assert.ok(job)
    const copies = await imageFolders(t)
    // The job still finds the bytes (their delete is a job of its own): it decodes, then writes nothing.
    await t.c.jobHandlers.get(JobKinds.provision)!(job.payload, job)
    const images = await t.c.db.selectFrom('images').select('id').where('file_id', '=', file.id).execute()
    assert.equal(images.length, 0)
    assert.deepEqual(await imageFolders(t), copies, 'the copy made for it was removed again')
    for (const j of jobs) await t.c.queue.complete(j)
  })

  test('a file deleted with its bytes before its job runs: the job ends quietly, failing nothing', async () => {
    const file = await upload(api, ws, await landscape(3), 'l3.jpg')
    const [job] = await t.c.queue.claim('test', 1, 60_000)
    assert.ok(job)
    assert.equal((await api.del(`/api/files/${file.id}`)).statusCode, 200)
    await t.c.blobs.delete(String(job.payload.blobKey))
    await t.c.jobHandlers.get(JobKinds.provision)!(job.payload, job)
    const images = await t.c.db.selectFrom('images').select('id').where('file_id', '=', file.id).execute()
    assert.equal(images.length, 0)
    await t.c.queue.complete(job)
    for (const j of await t.c.queue.claim('test', 10, 60_000)) await t.c.queue.complete(j)
  })

  test('a job queued with the file id alone (before jobs carried the file) still provisions it', async () => {
    const file = await upload(api, ws, await landscape(4), 'l4.jpg')
    const [job] = await t.c.queue.claim('test', 1, 60_000)
    assert.ok(job)
    assert.deepEqual(Object.keys(job.payload).sort(), ['blobKey', 'fileId', 'mime', 'size', 'workspaceId'])
    const old = { fileId: file.id }
    await t.c.jobHandlers.get(JobKinds.provision)!(old, { ...job, payload: old })
    const seen = json<UploadedFileView>(await api.get(`/api/files/${file.id}`))
    assert.equal(seen.image.status, 'ready')
    assert.equal(seen.image.id, `img_${job.id.slice(4)}`)
    // Run again, it finds the file provisioned and does nothing.
    await t.c.jobHandlers.get(JobKinds.provision)!(old, { ...job, payload: old })
    const images = await t.c.db.selectFrom('images').select('id').where('file_id', '=', file.id).execute()
    assert.equal(images.length, 1)
    await t.c.queue.complete(job)
  })
})

/** The image folders of the local provider's variant cache: the copies it holds. */
async function imageFolders(t: TestEnv): Promise<string[]> {
  const names = await readdir(path.join(t.c.config.dataDir, 'cache')).catch(() => [] as string[])
  return names.filter((n) => /^[0-9a-f]{32}$/.test(n))
}
