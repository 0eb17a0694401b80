import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { expectError } from '../expect.js'
import {
  addMember,
  blobFiles,
  client,
  fileRows,
  multipartBody,
  newUser,
  newWorkspace,
  tmpFiles,
  uploadMultipart,
  uploadRaw,
} from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

const LIMIT = 64 * 1024

let t: TestEnv
let owner: Awaited<ReturnType<typeof newUser>>
let ws: { id: string }
before(async () => {
  t = await createTestEnv({ MAX_UPLOAD_BYTES: String(LIMIT) })
  owner = await newUser(t)
  ws = await newWorkspace(owner)
})
after(() => t.close())

/** Nothing of a refused upload may remain: no row, no blob, no temp file. */
async function assertNothingKept(before: { rows: number; blobs: number }) {
  assert.equal((await fileRows(t, ws.id)).length, before.rows, 'no file row')
  assert.equal(blobFiles(t).filter((f) => !f.startsWith('.tmp')).length, before.blobs, 'no blob')
  assert.deepEqual(tmpFiles(t), [], 'no temp file')
  const counter = await t.c.db
    .selectFrom('workspace_counters')
    .select('files')
    .where('workspace_id', '=', ws.id)
    .executeTakeFirstOrThrow()
  assert.equal(Number(counter.files), before.rows, 'the counter did not move')
}

async function snapshot() {
  return {
    rows: (await fileRows(t, ws.id)).length,
    blobs: blobFiles(t).filter((f) => !f.startsWith('.tmp')).length,
  }
}

/** A body of `size` bytes arriving in chunks, with no Content-Length: a chunked request. */
function chunkedBody(size: number): Readable {
  let left = size
  return new Readable({
    read() {
      const n = Math.min(8 * 1024, left)
      left -= n
      this.push(n > 0 ? Buffer.alloc(n, 0x61) : null)
    },
  })
}

test('exactly the limit is accepted, raw or multipart (the framing does not count)', async () => {
  const raw = await uploadRaw(t, owner.token, ws.id, Buffer.alloc(LIMIT, 1))
  assert.equal(raw.statusCode, 201, raw.body)
  assert.equal(raw.json().size, LIMIT)
  const multi = await uploadMultipart(t, owner.token, ws.id, [
    { name: 'file', filename: 'full.bin', data: Buffer.alloc(LIMIT, 2) },
  ])
  assert.equal(multi.statusCode, 201, multi.body)
  assert.equal(multi.json().size, LIMIT)
})

test('one byte over the limit with a Content-Length: 413, nothing kept', async () => {
  const before = await snapshot()
  const res = await uploadRaw(t, owner.token, ws.id, Buffer.alloc(LIMIT + 1))
  expectError(res, 413, 'payload_too_large')
  await assertNothingKept(before)
  const huge = await uploadRaw(t, owner.token, ws.id, 'x', {
    headers: { 'content-length': String(10 * LIMIT) },
  })
  assert.equal(huge.statusCode, 413, 'a declared length over the limit is refused before reading')
  await assertNothingKept(before)
})

test('a chunked body without Content-Length that passes the limit: 413, nothing kept', async () => {
  const before = await snapshot()
  const res = await uploadRaw(t, owner.token, ws.id, chunkedBody(LIMIT * 3))
  expectError(res, 413, 'payload_too_large')
  await assertNothingKept(before)
  const ok = await uploadRaw(t, owner.token, ws.id, chunkedBody(LIMIT))
  assert.equal(ok.statusCode, 201, 'a chunked body within the limit is fine')
  assert.equal(ok.json().size, LIMIT)
})

test('a multipart file over the limit: 413, nothing kept', async () => {
  const before = await snapshot()
  const res = await uploadMultipart(t, owner.token, ws.id, [
    { name: 'file', filename: 'big.bin', data: Buffer.alloc(LIMIT + 1) },
  ])
  expectError(res, 413, 'payload_too_large')
  await assertNothingKept(before)
  const { payload, contentType } = multipartBody([
    { name: 'file', filename: 'big.bin', data: Buffer.alloc(LIMIT * 2) },
  ])
  const chunked = await uploadRaw(t, owner.token, ws.id, Readable.from([payload]), { contentType })
  expectError(chunked, 413, 'payload_too_large')
  await assertNothingKept(before)
})

test('the workspace must exist, be visible, and allow uploads', async () => {
  const stranger = await newUser(t)
  const viewer = await newUser(t)
  await addMember(t, ws.id, viewer.id, 'viewer')
  const before = await snapshot()

  const missing = await uploadRaw(t, owner.token, 'ws_00000000000000000000000000', 'x')
  expectError(missing, 404, 'not_found')
  const invisible = await uploadRaw(t, stranger.token, ws.id, 'x')
  expectError(invisible, 404, 'not_found')
  assert.deepEqual(invisible.json(), missing.json(), 'invisible answers exactly as missing')
  expectError(await uploadRaw(t, owner.token, 'nonsense', 'x'), 404, 'not_found')
  expectError(await uploadRaw(t, viewer.token, ws.id, 'x'), 403, 'forbidden')
  expectError(await uploadRaw(t, 'pic_not-a-real-token-at-all', ws.id, 'x'), 401, 'unauthorized')
  await assertNothingKept(before)
})

test('malformed upload requests: 400, and 415 for a body we cannot take as sent', async () => {
  const before = await snapshot()
  const noWorkspace = await t.app.inject({
    method: 'POST',
    url: '/api/files',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/octet-stream' },
    payload: 'x',
  })
  expectError(noWorkspace, 400, 'invalid_request', 'workspace_id')
  const unknownParam = await t.app.inject({
    method: 'POST',
    url: `/api/files?workspace_id=${ws.id}&bogus=1`,
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/octet-stream' },
    payload: 'x',
  })
  expectError(unknownParam, 400, 'invalid_request', 'bogus')

  const wrongPart = await uploadMultipart(t, owner.token, ws.id, [
    { name: 'upload', filename: 'a.txt', data: 'x' },
  ])
  expectError(wrongPart, 400, 'invalid_request', 'file')
  const textPart = await uploadMultipart(t, owner.token, ws.id, [{ name: 'file', data: 'not a file part' }])
  expectError(textPart, 400, 'invalid_request', 'file')
  const noParts = await uploadMultipart(t, owner.token, ws.id, [{ name: 'other', data: 'x' }])
  expectError(noParts, 400, 'invalid_request', 'file')
  const truncated = await uploadRaw(
    t,
    owner.token,
    ws.id,
    '--b\r\nContent-Disposition: form-data; name="file"',
    {
      contentType: 'multipart/form-data; boundary=b',
    },
  )
  expectError(truncated, 400, 'invalid_request')
  const noBoundary = await uploadRaw(t, owner.token, ws.id, 'x', { contentType: 'multipart/form-data' })
  expectError(noBoundary, 400, 'invalid_request')

  const gzip = await uploadRaw(t, owner.token, ws.id, 'x', { headers: { 'content-encoding': 'gzip' } })
  expectError(gzip, 415, 'unsupported_media_type')
  await assertNothingKept(before)
})

test('reads and deletes: missing, invisible and forbidden', async () => {
  const stranger = await newUser(t)
  const viewer = await newUser(t)
  await addMember(t, ws.id, viewer.id, 'viewer')
  const file = (await uploadRaw(t, owner.token, ws.id, 'bytes')).json() as { id: string }
  const absent = 'fil_00000000000000000000000000'

  for (const path of ['', '/content']) {
    const missing = await owner.api.get(`/api/files/${absent}${path}`)
    expectError(missing, 404, 'not_found')
    const hidden = await stranger.api.get(`/api/files/${file.id}${path}`)
    assert.deepEqual(hidden.json(), missing.json(), `invisible answers as missing (${path || 'get'})`)
    expectError(await owner.api.get(`/api/files/not-an-id${path}`), 404, 'not_found')
    assert.equal((await viewer.api.get(`/api/files/${file.id}${path}`)).statusCode, 200)
  }
  expectError(await stranger.api.del(`/api/files/${file.id}`), 404, 'not_found')
  expectError(await viewer.api.del(`/api/files/${file.id}`), 403, 'forbidden')
  expectError(await owner.api.del(`/api/files/${absent}`), 404, 'not_found')
  assert.equal((await owner.api.get(`/api/files/${file.id}`)).statusCode, 200, 'still there')
})

test('list parameters are validated', async () => {
  const stranger = await newUser(t)
  const api = owner.api
  expectError(await api.get('/api/files?limit=0'), 400, 'invalid_request', 'limit')
  expectError(await api.get('/api/files?limit=101'), 400, 'invalid_request', 'limit')
  expectError(await api.get('/api/files?after=forged'), 400, 'invalid_cursor')
  const images = client(t, t.adminToken)
  const otherList = (await images.get('/api/workspaces?limit=1')).json().pageInfo.endCursor as string
  expectError(await api.get(`/api/files?after=${otherList}`), 400, 'invalid_cursor')
  expectError(await api.get('/api/files?mime=image/%20png'), 400, 'invalid_request', 'mime')
  expectError(await api.get('/api/files?sort=name'), 400, 'invalid_request', 'sort')
  const hidden = await stranger.api.get(`/api/files?workspace_id=${ws.id}`)
  expectError(hidden, 404, 'not_found')
  const missing = await stranger.api.get('/api/files?workspace_id=ws_00000000000000000000000000')
  assert.deepEqual(hidden.json(), missing.json())
  const empty = await stranger.api.get('/api/files')
  assert.deepEqual(empty.json().data, [])
  assert.equal(empty.json().pageInfo.total, 0)
})
