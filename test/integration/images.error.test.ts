import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { client, json, newFile, newImage, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

const IMAGE_NOT_FOUND = { error: { code: 'not_found', message: 'Image not found' } }
const FILE_NOT_FOUND = { error: { code: 'not_found', message: 'File not found' } }
const UNKNOWN_IMG = 'img_01jdx3m2a4b6c8d0e2f4g6h8j0'
const UNKNOWN_FIL = 'fil_01jdx3k9z8y7x6w5v4t3s2r1q0'

async function setup() {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  return { owner, ws }
}

test('GET /api/images/{id}: unknown, malformed or wrongly prefixed ids answer the same 404', async () => {
  const { owner, ws } = await setup()
  const img = await newImage(t, ws.id)
  for (const id of [UNKNOWN_IMG, 'abc', img.file_id, img.id.toUpperCase(), `${img.id}x`, img.cf_image_id]) {
    const res = await owner.api.get(`/api/images/${encodeURIComponent(id)}`)
    assert.equal(res.statusCode, 404, id)
    assert.deepEqual(json(res), IMAGE_NOT_FOUND, id)
  }
})

test('GET /api/images/by-file/{file_id}: 404 for unknown or malformed files and files without an image', async () => {
  const { owner, ws } = await setup()
  const pending = await newFile(t, ws.id, { status: 'pending' })
  const failed = await newFile(t, ws.id, { status: 'failed' })
  const svg = await newFile(t, ws.id, { mime: 'image/svg+xml', status: 'none' })
  const img = await newImage(t, ws.id)
  for (const id of [UNKNOWN_FIL, 'nope', img.id, pending.id, failed.id, svg.id]) {
    const res = await owner.api.get(`/api/images/by-file/${id}`)
    assert.equal(res.statusCode, 404, id)
    assert.deepEqual(json(res), IMAGE_NOT_FOUND, id)
  }
})

test('GET /api/images: out-of-range limits, both cursors, foreign cursors and too many ids answer 400', async () => {
  const { owner, ws } = await setup()
  for (let i = 0; i < 3; i++) await newImage(t, ws.id)
  for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'limit=-1', 'colour=red']) {
    const res = await owner.api.get(`/api/images?${q}`)
    assert.equal(res.statusCode, 400, q)
    assert.equal(json<{ error: { code: string } }>(res).error.code, 'invalid_request', q)
  }
  const first = json<{ pageInfo: { endCursor: string; startCursor: string } }>(
    await owner.api.get('/api/images?limit=1'),
  )
  const both = await owner.api.get(
    `/api/images?after=${first.pageInfo.endCursor}&before=${first.pageInfo.startCursor}`,
  )
  assert.equal(both.statusCode, 400)
  assert.equal(json<{ error: { code: string } }>(both).error.code, 'invalid_request')

  const wsCursor = json<{ pageInfo: { endCursor: string } }>(await owner.api.get('/api/workspaces?limit=1'))
    .pageInfo.endCursor
  // One character of the signature changed, always to another one (a fixed 'AA' could equal the original).
  const end = first.pageInfo.endCursor
  const tampered = `${end.slice(0, -2)}${end.at(-2) === 'A' ? 'B' : 'A'}${end.at(-1)}`
  for (const cursor of ['garbage', wsCursor, tampered, '.', 'a.b']) {
    for (const dir of ['after', 'before']) {
      const res = await owner.api.get(`/api/images?${dir}=${encodeURIComponent(cursor)}`)
      assert.equal(res.statusCode, 400, `${dir}=${cursor}`)
      assert.equal(json<{ error: { code: string } }>(res).error.code, 'invalid_cursor', `${dir}=${cursor}`)
    }
  }

  const ids = Array.from({ length: 101 }, (_, i) => `img_${String(i).padStart(26, '0')}`).join(',')
  const tooMany = await owner.api.get(`/api/images?ids=${ids}`)
  assert.equal(tooMany.statusCode, 400)
  assert.equal(json<{ error: { code: string } }>(tooMany).error.code, 'invalid_request')
  // 100 distinct (and duplicates of them) are fine.
  const hundred = Array.from({ length: 100 }, (_, i) => `img_${String(i).padStart(26, '0')}`)
  const ok = await owner.api.get(`/api/images?ids=${[...hundred, ...hundred.slice(0, 5)].join(',')}`)
  assert.equal(ok.statusCode, 200, ok.body)
  assert.equal(json<{ pageInfo: { total: number } }>(ok).pageInfo.total, 0)
})

test('GET /api/images: an unknown or malformed workspace_id answers 404', async () => {
  const { owner } = await setup()
  for (const id of ['ws_01jdx3k6v8f2m9q4r7t5w0y1z2', 'nope']) {
    const res = await owner.api.get(`/api/images?workspace_id=${id}`)
    assert.equal(res.statusCode, 404)
    assert.deepEqual(json(res), { error: { code: 'not_found', message: 'Workspace not found' } })
  }
})

test('every images route answers 401 without a valid token', async () => {
  const { ws } = await setup()
  const img = await newImage(t, ws.id)
  for (const api of [client(t, null), client(t, 'pic_notarealtokenatallxxxxxxxx')]) {
    const answers = [
      await api.get('/api/images'),
      await api.get(`/api/images/${img.id}`),
      await api.get(`/api/images/by-file/${img.file_id}`),
      await api.del(`/api/images/${img.id}`),
      await api.post('/api/images', { fileId: img.file_id }),
    ]
    for (const res of answers) {
      assert.equal(res.statusCode, 401)
      assert.equal(res.headers['www-authenticate'], 'Bearer')
      assert.equal(json<{ error: { code: string } }>(res).error.code, 'unauthorized')
    }
  }
  assert.ok(await t.c.db.selectFrom('images').select('id').where('id', '=', img.id).executeTakeFirst())
})

test('DELETE /api/images/{id}: unknown, malformed and already deleted images answer 404', async () => {
  const { owner, ws } = await setup()
  const img = await newImage(t, ws.id)
  for (const id of [UNKNOWN_IMG, 'abc', img.file_id]) {
    const res = await owner.api.del(`/api/images/${id}`)
    assert.equal(res.statusCode, 404, id)
    assert.deepEqual(json(res), IMAGE_NOT_FOUND)
  }
  assert.equal((await owner.api.del(`/api/images/${img.id}`)).statusCode, 200)
  const again = await owner.api.del(`/api/images/${img.id}`)
  assert.equal(again.statusCode, 404)
  assert.deepEqual(json(again), IMAGE_NOT_FOUND)
})

test('POST /api/images: malformed bodies answer 400', async () => {
  const { owner, ws } = await setup()
  const file = await newFile(t, ws.id, { status: 'failed' })
  const bodies: unknown[] = [
    {},
    { fileId: 42 },
    { fileId: null },
    { fileId: file.id, extra: true },
    [file.id],
  ]
  for (const body of bodies) {
    const res = await owner.api.post('/api/images', body)
    assert.equal(res.statusCode, 400, JSON.stringify(body))
    assert.equal(json<{ error: { code: string } }>(res).error.code, 'invalid_request')
  }
  const notJson = await owner.api.post('/api/images', '{"fileId":', { 'content-type': 'application/json' })
  assert.equal(notJson.statusCode, 400)
  const jsonString = await owner.api.post('/api/images', '"fil"', { 'content-type': 'application/json' })
  assert.equal(jsonString.statusCode, 400)
  const text = await owner.api.post('/api/images', file.id, { 'content-type': 'text/plain' })
  assert.equal(text.statusCode, 415)
  assert.equal(json<{ error: { code: string } }>(text).error.code, 'unsupported_media_type')
  const after = await t.c.db
    .selectFrom('files')
    .select('image_status')
    .where('id', '=', file.id)
    .executeTakeFirst()
  assert.equal(after?.image_status, 'failed', 'nothing was provisioned')
})

test('POST /api/images: 404 for unknown or malformed files', async () => {
  const { owner } = await setup()
  for (const fileId of [UNKNOWN_FIL, 'nope', UNKNOWN_IMG]) {
    const res = await owner.api.post('/api/images', { fileId })
    assert.equal(res.statusCode, 404, fileId)
    assert.deepEqual(json(res), FILE_NOT_FOUND)
  }
})

test('POST /api/images: 400 for a file that is not a provisionable image', async () => {
  const { owner, ws } = await setup()
  for (const mime of ['image/svg+xml', 'text/plain', 'application/pdf', 'application/octet-stream']) {
    const file = await newFile(t, ws.id, { mime, status: 'none' })
    const res = await owner.api.post('/api/images', { fileId: file.id })
    assert.equal(res.statusCode, 400, mime)
    assert.equal(json<{ error: { code: string } }>(res).error.code, 'invalid_request')
  }
})

test('POST /api/images: 409 when the file already has an image or one is on the way', async () => {
  const { owner, ws } = await setup()
  const img = await newImage(t, ws.id)
  const ready = await owner.api.post('/api/images', { fileId: img.file_id })
  assert.equal(ready.statusCode, 409)
  assert.deepEqual(json(ready), { error: { code: 'conflict', message: 'The file already has an image' } })

  const pending = await newFile(t, ws.id, { status: 'pending' })
  const res = await owner.api.post('/api/images', { fileId: pending.id })
  assert.equal(res.statusCode, 409)
  assert.equal(json<{ error: { code: string } }>(res).error.code, 'conflict')

  const failed = await newFile(t, ws.id, { status: 'failed' })
  assert.equal((await owner.api.post('/api/images', { fileId: failed.id })).statusCode, 202)
  assert.equal((await owner.api.post('/api/images', { fileId: failed.id })).statusCode, 409)
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', 'image.provision')
    .execute()
  assert.equal(jobs.filter((j) => JSON.parse(j.payload).fileId === failed.id).length, 1, 'one job only')
})
