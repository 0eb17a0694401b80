import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test } from 'node:test'
import { type FileRow, FilesRepository } from '../../src/features/files/files.repository.js'
import { provisioningJob } from '../../src/features/images/provisioning.js'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { newId } from '../../src/shared/ids.js'
import { ISO_UTC } from '../expect.js'
import { type FileBody, fileRows, newUser, newWorkspace, uploadMultipart, uploadRaw } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import {
  faxTiff,
  paletteGif,
  SVG,
  SVG_WITH_PROLOG,
  sampleAvif,
  sampleBmp,
  samplePng,
  sampleTiff,
  sampleWebp,
  smallJpeg,
} from '../support/images.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex')

test('a raw upload answers 201 with the file object; the type comes from the bytes, not the client', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const png = await samplePng('rgb')
  const started = Date.now()
  const res = await uploadRaw(t, u.token, ws.id, png, { contentType: 'text/plain', name: 'x.txt' })
  assert.equal(res.statusCode, 201, res.body)
  const file = res.json() as FileBody
  assert.match(file.id, /^fil_[0-9a-z]{26}$/)
  assert.deepEqual(file, {
    id: file.id,
    workspaceId: ws.id,
    name: 'x.txt',
    mime: 'image/png',
    size: png.length,
    sha256: sha256(png),
    createdAt: file.createdAt,
    createdBy: u.id,
    image: { status: 'pending', id: null, error: null },
  })
  assert.match(file.createdAt, ISO_UTC)
  assert.ok(Date.parse(file.createdAt) >= started - 1000)
  assert.equal(res.headers.location, `/api/files/${file.id}`)

  const got = await u.api.get(`/api/files/${file.id}`)
  assert.equal(got.statusCode, 200)
  // The image part may move on if a worker runs; everything else is the same file.
  assert.deepEqual({ ...(got.json() as FileBody), image: file.image }, file)
})

test('a multipart upload stores the `file` part byte for byte, named by its filename', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const jpeg = await smallJpeg()
  const res = await uploadMultipart(t, u.token, ws.id, [
    { name: 'note', data: 'a field before the file is ignored' },
    { name: 'file', filename: 'holiday.gif', contentType: 'image/gif', data: jpeg },
    { name: 'after', data: 'and one after it' },
  ])
  assert.equal(res.statusCode, 201, res.body)
  const file = res.json() as FileBody
  assert.equal(file.name, 'holiday.gif')
  assert.equal(file.mime, 'image/jpeg')
  assert.equal(file.size, jpeg.length)
  assert.equal(file.sha256, sha256(jpeg))
  assert.equal(file.image.status, 'pending')

  const content = await u.api.get(`/api/files/${file.id}/content`)
  assert.equal(content.statusCode, 200)
  assert.ok(content.rawPayload.equals(jpeg))
})

test('text markup, SVG, unknown bytes and empty files are stored with their sniffed type and no image', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const cases: { data: Buffer | string; name: string; contentType: string; mime: string }[] = [
    { data: '<!DOCTYPE html><title>x</title>', name: 'a.png', contentType: 'image/png', mime: 'text/html' },
    { data: '  <html><body>hi', name: 'b.jpg', contentType: 'image/jpeg', mime: 'text/html' },
    {
      data: SVG,
      name: 'c.svg',
      contentType: 'image/png',
      mime: 'image/svg+xml',
    },
    {
      data: SVG_WITH_PROLOG,
      name: 'prolog.svg',
      contentType: 'application/octet-stream',
      mime: 'image/svg+xml',
    },
    {
      data: '<?xml version="1.0"?><feed/>',
      name: 'feed.svg',
      contentType: 'image/svg+xml',
      mime: 'application/xml',
    },
    {
      data: '{"looks": "like json"}',
      name: 'd.png',
      contentType: 'application/json',
      mime: 'application/octet-stream',
    },
    { data: '', name: 'empty.jpg', contentType: 'image/jpeg', mime: 'application/octet-stream' },
    {
      data: await sampleBmp(),
      name: 'p.bmp',
      contentType: 'image/bmp',
      mime: 'image/bmp',
    },
  ]
  for (const c of cases) {
    const res = await uploadRaw(t, u.token, ws.id, c.data, { contentType: c.contentType, name: c.name })
    assert.equal(res.statusCode, 201, `${c.name}: ${res.body}`)
    const file = res.json() as FileBody
    assert.equal(file.mime, c.mime, c.name)
    assert.deepEqual(file.image, { status: 'none', id: null, error: null }, c.name)
    assert.equal(file.size, Buffer.byteLength(c.data), c.name)
  }
  const empty = (await fileRows(t, ws.id)).find((r) => r.name === 'empty.jpg')
  assert.equal(empty?.sha256, sha256(''))
})

test('the raster types are provisioned; every upload is its own file', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const samples: [string, Buffer, string][] = [
    ['palette GIF', await paletteGif(), 'image/gif'],
    ['WebP', await sampleWebp(), 'image/webp'],
    ['AVIF', await sampleAvif(), 'image/avif'],
    ['RGB TIFF', await sampleTiff(), 'image/tiff'],
    ['1-bit fax TIFF', await faxTiff(), 'image/tiff'],
  ]
  for (const [name, bytes, mime] of samples) {
    const res = await uploadRaw(t, u.token, ws.id, bytes)
    assert.equal(res.statusCode, 201, res.body)
    assert.equal(res.json().mime, mime, name)
    assert.equal(res.json().image.status, 'pending', name)
  }
  const gif = await paletteGif()
  const again = (await uploadRaw(t, u.token, ws.id, gif)).json() as FileBody
  const rows = await fileRows(t, ws.id)
  assert.equal(rows.filter((r) => r.sha256 === again.sha256).length, 2, 'no de-duplication')
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', JobKinds.provision)
    .execute()
  const queued = jobs.some((j) => JSON.parse(j.payload).fileId === again.id)
  // A worker, if one runs, may already have taken the job: then the file has left `pending`.
  const row = rows.find((r) => r.id === again.id)
  assert.ok(queued || row?.image_status !== 'pending', 'the provisioning job is queued with the file')
})

test('the file name: ?name= first, then the multipart filename, else the file id', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const named = await uploadMultipart(
    t,
    u.token,
    ws.id,
    [{ name: 'file', filename: 'from-part.bin', data: 'x' }],
    {
      name: 'from-query.bin',
    },
  )
  assert.equal(named.json().name, 'from-query.bin')
  const fromPart = await uploadMultipart(t, u.token, ws.id, [
    { name: 'file', filename: 'from-part.bin', data: 'x' },
  ])
  assert.equal(fromPart.json().name, 'from-part.bin')
  const raw = (await uploadRaw(t, u.token, ws.id, 'x')).json() as FileBody
  assert.equal(raw.name, raw.id)
  const blank = (await uploadRaw(t, u.token, ws.id, 'x', { name: '   ' })).json() as FileBody
  assert.equal(blank.name, blank.id)
})

test('download: bytes, validators, ranges, conditional requests and HEAD', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const png = await samplePng('grey')
  const file = (await uploadRaw(t, u.token, ws.id, png, { name: 'grey.png' })).json() as FileBody
  const url = `/api/files/${file.id}/content`
  const etag = `"${file.sha256}"`

  const full = await u.api.get(url)
  assert.equal(full.statusCode, 200)
  assert.ok(full.rawPayload.equals(png))
  assert.equal(full.headers['content-type'], 'image/png')
  assert.equal(full.headers['content-length'], String(png.length))
  assert.equal(full.headers.etag, etag)
  assert.equal(full.headers['accept-ranges'], 'bytes')
  assert.equal(full.headers['x-content-type-options'], 'nosniff')
  assert.match(String(full.headers['cache-control']), /private/)
  assert.equal(full.headers['content-disposition'], `inline; filename="grey.png"; filename*=UTF-8''grey.png`)

  const range = async (value: string, extra: Record<string, string> = {}) =>
    u.api.get(url, { range: value, ...extra })
  const first = await range('bytes=0-9')
  assert.equal(first.statusCode, 206)
  assert.ok(first.rawPayload.equals(png.subarray(0, 10)))
  assert.equal(first.headers['content-range'], `bytes 0-9/${png.length}`)
  assert.equal(first.headers['content-length'], '10')
  const suffix = await range('bytes=-5')
  assert.equal(suffix.statusCode, 206)
  assert.ok(suffix.rawPayload.equals(png.subarray(png.length - 5)))
  const open = await range(`bytes=${png.length - 3}-`)
  assert.ok(open.rawPayload.equals(png.subarray(png.length - 3)))
  const clamped = await range(`bytes=10-${png.length + 1000}`)
  assert.equal(clamped.headers['content-range'], `bytes 10-${png.length - 1}/${png.length}`)
  assert.ok(clamped.rawPayload.equals(png.subarray(10)))

  const outside = await range(`bytes=${png.length}-`)
  assert.equal(outside.statusCode, 416)
  assert.equal(outside.headers['content-range'], `bytes */${png.length}`)
  assert.equal(outside.json().error.code, 'invalid_request')
  for (const ignored of ['bytes=5-2', 'bytes=0-1,4-5', 'items=0-1', 'bytes=abc']) {
    const res = await range(ignored)
    assert.equal(res.statusCode, 200, ignored)
    assert.ok(res.rawPayload.equals(png), ignored)
  }
  const staleIfRange = await range('bytes=0-9', { 'if-range': '"not-the-current-version"' })
  assert.equal(staleIfRange.statusCode, 200)
  const currentIfRange = await range('bytes=0-9', { 'if-range': etag })
  assert.equal(currentIfRange.statusCode, 206)

  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const res = await u.api.get(url, { 'if-none-match': inm })
    assert.equal(res.statusCode, 304, inm)
    assert.equal(res.rawPayload.length, 0)
    assert.equal(res.headers.etag, etag)
  }
  assert.equal((await u.api.get(url, { 'if-none-match': '"other"' })).statusCode, 200)

  const head = await t.app.inject({ method: 'HEAD', url, headers: { authorization: `Bearer ${u.token}` } })
  assert.equal(head.statusCode, 200)
  assert.equal(head.headers['content-length'], String(png.length))
  assert.equal(head.headers.etag, etag)
  assert.equal(head.rawPayload.length, 0)
})

test('an upload records its file, count and job together, and none of them for a workspace gone meanwhile', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const repo = new FilesRepository(t.c.db, t.c.database.capabilities)
  const fileRow = (workspaceId: string): FileRow => {
    const id = newId('fil')
    return {
      id,
      workspace_id: workspaceId,
      name: `${id}.jpg`,
      mime: 'image/jpeg',
      size: 3,
      sha256: sha256('abc'),
      blob_key: `${workspaceId}/${id}`,
      created_at: new Date().toISOString(),
      created_by: u.id,
      image_status: 'pending',
      image_id: null,
      image_error: null,
    }
  }
  const files = async (workspaceId: string) =>
    (
      await t.c.db
        .selectFrom('workspace_counters')
        .select('files')
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst()
    )?.files
  const jobOf = (id: string) =>
    t.c.db.selectFrom('jobs').select('payload').where('id', '=', id).executeTakeFirst()

  const row = fileRow(ws.id)
  const job = t.c.queue.jobRow(provisioningJob(row))
  assert.equal(await repo.insertUpload(row, job), true)
  assert.deepEqual(await repo.findById(t.c.db, row.id), row)
  assert.deepEqual(JSON.parse((await jobOf(job.id))!.payload), {
    fileId: row.id,
    workspaceId: row.workspace_id,
    blobKey: row.blob_key,
    mime: row.mime,
    size: row.size,
  })
  assert.equal(await files(ws.id), 1)
  const plain = { ...fileRow(ws.id), image_status: 'none' as const }
  assert.equal(await repo.insertUpload(plain, undefined), true, 'a file that needs no image has no job')
  assert.equal(await files(ws.id), 2)

  // The workspace was purged between the access check and the write: its counter row is gone.
  const gone = fileRow('wsp_00000000000000000000000000')
  const orphanJob = t.c.queue.jobRow(provisioningJob(gone))
  assert.equal(await repo.insertUpload(gone, orphanJob), false)
  assert.equal(await repo.findById(t.c.db, gone.id), undefined)
  assert.equal(await jobOf(orphanJob.id), undefined)
})
