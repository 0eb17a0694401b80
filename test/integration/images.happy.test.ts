import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createContainer } from '../../src/container.js'
import { createLogger } from '../../src/shared/logger.js'
import { addMember, client, json, newFile, newImage, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv({ PUBLIC_URL: 'https://pics.example.com' })
})
after(() => t.close())

const IMAGE_KEYS = [
  'cfImageId',
  'createdAt',
  'exif',
  'fileId',
  'height',
  'id',
  'size',
  'thumbhash',
  'url',
  'width',
  'workspaceId',
].sort()

/** The exact image object: the seed's keys plus createdAt and thumbhash, each with its type. */
function assertImageShape(body: Record<string, unknown>) {
  assert.deepEqual(Object.keys(body).sort(), IMAGE_KEYS)
  for (const k of ['id', 'fileId', 'workspaceId', 'cfImageId', 'url', 'createdAt']) {
    assert.equal(typeof body[k], 'string', k)
  }
  for (const k of ['width', 'height', 'size']) assert.ok(Number.isInteger(body[k]), k)
  assert.equal(typeof body.exif, 'object')
  assert.ok(body.exif !== null && !Array.isArray(body.exif))
  assert.ok(!Number.isNaN(Date.parse(body.createdAt as string)))
  assert.ok(body.thumbhash === null || typeof body.thumbhash === 'string', 'thumbhash')
}

test('GET /api/images/{id} answers the image with its public URL and EXIF, GPS held back', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const exif = {
    Make: 'FUJIFILM',
    Model: 'X-T4',
    ISO: 160,
    FNumber: 5.6,
    DateTimeOriginal: '2026-06-14T18:32:05',
  }
  const img = await newImage(t, ws.id, {
    width: 3000,
    height: 4000,
    size: 5_242_880,
    exif,
    gps: { GPSLatitude: 48.8584, GPSLongitude: 2.2945 },
  })
  const res = await owner.api.get(`/api/images/${img.id}`)
  assert.equal(res.statusCode, 200, res.body)
  assert.match(res.headers['content-type'] as string, /^application\/json/)
  const body = json(res)
  assertImageShape(body)
  assert.deepEqual(body, {
    id: img.id,
    fileId: img.file_id,
    workspaceId: ws.id,
    cfImageId: img.cf_image_id,
    width: 3000,
    height: 4000,
    size: 5_242_880,
    exif,
    thumbhash: null,
    url: `https://pics.example.com/cdn/${img.cf_image_id}/public`,
    createdAt: img.created_at,
  })
})

test('exif is {} when the file has none', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const img = await newImage(t, ws.id)
  const body = json(await owner.api.get(`/api/images/${img.id}`))
  assert.deepEqual(body.exif, {})
})

test('with EXIF_GPS=true the GPS tags join exif', async () => {
  // A second node on the same database, deployed with EXIF_GPS=true.
  const config = loadConfig({ ...t.env, EXIF_GPS: 'true' })
  const c = await createContainer(config, createLogger('silent'), { migrate: false })
  const app = await buildApp(c)
  try {
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    const get = async (url: string) =>
      json<{ exif: unknown; data: { id: string; exif: unknown }[] }>(
        await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${owner.token}` } }),
      )
    const withBoth = await newImage(t, ws.id, {
      exif: { Make: 'Apple' },
      gps: { GPSLatitude: -33.8568, GPSLongitude: 151.2153 },
    })
    const gpsOnly = await newImage(t, ws.id, { gps: { GPSLatitude: 1.5, GPSLongitude: -2.25 } })
    const none = await newImage(t, ws.id, { exif: { Make: 'Canon' } })
    const merged = { Make: 'Apple', GPSLatitude: -33.8568, GPSLongitude: 151.2153 }
    assert.deepEqual((await get(`/api/images/${withBoth.id}`)).exif, merged)
    assert.deepEqual((await get(`/api/images/${gpsOnly.id}`)).exif, { GPSLatitude: 1.5, GPSLongitude: -2.25 })
    assert.deepEqual((await get(`/api/images/${none.id}`)).exif, { Make: 'Canon' })
    const list = await get(`/api/images?workspace_id=${ws.id}`)
    assert.deepEqual(list.data.find((i) => i.id === withBoth.id)?.exif, merged)
    // The default node still holds them back.
    assert.deepEqual(json(await owner.api.get(`/api/images/${withBoth.id}`)).exif, { Make: 'Apple' })
  } finally {
    await app.close()
    await c.close()
  }
})

test('GET /api/images/by-file/{file_id} resolves the image of a file', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const img = await newImage(t, ws.id, { exif: { Model: 'Pixel 8' } })
  const res = await owner.api.get(`/api/images/by-file/${img.file_id}`)
  assert.equal(res.statusCode, 200, res.body)
  const body = json(res)
  assertImageShape(body)
  assert.equal(body.id, img.id)
  assert.equal(body.fileId, img.file_id)
  assert.deepEqual(body, json(await owner.api.get(`/api/images/${img.id}`)))
})

test('GET /api/images lists a workspace newest first with an exact total', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const made = []
  for (let i = 0; i < 3; i++) made.push(await newImage(t, ws.id, { width: 100 + i }))
  const res = await owner.api.get(`/api/images?workspace_id=${ws.id}`)
  assert.equal(res.statusCode, 200, res.body)
  const body = json<{ data: Record<string, unknown>[]; pageInfo: Record<string, unknown> }>(res)
  assert.deepEqual(Object.keys(body).sort(), ['data', 'pageInfo'])
  assert.deepEqual(
    body.data.map((i) => i.id),
    made.map((i) => i.id).reverse(),
  )
  for (const item of body.data) assertImageShape(item)
  assert.equal(body.pageInfo.total, 3)
  assert.equal(body.pageInfo.hasNextPage, false)
  assert.equal(body.pageInfo.hasPreviousPage, false)
  assert.equal(typeof body.pageInfo.startCursor, 'string')
  assert.equal(typeof body.pageInfo.endCursor, 'string')
})

test('without workspace_id a member sees every workspace they belong to; a viewer reads', async () => {
  const a = await newUser(t)
  const b = await newUser(t)
  const wsA = await newWorkspace(a)
  const wsB = await newWorkspace(b)
  const wsOther = await newWorkspace(b)
  await addMember(t, wsB.id, a.id, 'viewer')
  const inA = await newImage(t, wsA.id)
  const inB = await newImage(t, wsB.id)
  await newImage(t, wsOther.id)
  const body = json<{ data: { id: string }[]; pageInfo: { total: number } }>(await a.api.get('/api/images'))
  assert.deepEqual(
    body.data.map((i) => i.id),
    [inB.id, inA.id],
  )
  assert.equal(body.pageInfo.total, 2)
  assert.equal((await a.api.get(`/api/images/${inB.id}`)).statusCode, 200)
})

test('an admin lists every workspace with the exact total', async () => {
  const admin = client(t, t.adminToken)
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  await newImage(t, ws.id)
  const rows = await t.c.db.selectFrom('images').select('id').orderBy('id', 'desc').execute()
  const body = json<{ data: { id: string }[]; pageInfo: { total: number } }>(await admin.get('/api/images'))
  assert.equal(body.pageInfo.total, rows.length)
  assert.deepEqual(
    body.data.map((i) => i.id),
    rows.map((r) => r.id).slice(0, 100),
  )
  // And a workspace the admin is not a member of.
  const inWs = json<{ pageInfo: { total: number } }>(await admin.get(`/api/images?workspace_id=${ws.id}`))
  assert.equal(inWs.pageInfo.total, 1)
})

test('ids narrows the list and total to those images', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const [x, y, z] = [await newImage(t, ws.id), await newImage(t, ws.id), await newImage(t, ws.id)]
  const body = json<{ data: { id: string }[]; pageInfo: { total: number } }>(
    await owner.api.get(`/api/images?workspace_id=${ws.id}&ids=${x.id},%20${z.id},${x.id}`),
  )
  assert.deepEqual(
    body.data.map((i) => i.id),
    [z.id, x.id],
  )
  assert.equal(body.pageInfo.total, 2)
  assert.ok(!body.data.some((i) => i.id === y.id))
})

test('DELETE /api/images/{id} removes the image, keeps the file, and queues the provider clean-up', async () => {
  const owner = await newUser(t)
  const editor = await newUser(t)
  const ws = await newWorkspace(owner)
  await addMember(t, ws.id, editor.id, 'editor')
  const keep = await newImage(t, ws.id)
  const img = await newImage(t, ws.id)

  const res = await editor.api.del(`/api/images/${img.id}`)
  assert.equal(res.statusCode, 200, res.body)
  assert.deepEqual(json(res), { success: true })

  assert.equal((await owner.api.get(`/api/images/${img.id}`)).statusCode, 404)
  assert.equal((await owner.api.get(`/api/images/by-file/${img.file_id}`)).statusCode, 404)
  const list = json<{ data: { id: string }[]; pageInfo: { total: number } }>(
    await owner.api.get(`/api/images?workspace_id=${ws.id}`),
  )
  assert.deepEqual(
    list.data.map((i) => i.id),
    [keep.id],
  )
  assert.equal(list.pageInfo.total, 1)
  assert.equal((await owner.api.del(`/api/images/${img.id}`)).statusCode, 404)

  const file = await t.c.db.selectFrom('files').selectAll().where('id', '=', img.file_id).executeTakeFirst()
  assert.ok(file, 'the file stays')
  assert.equal(file.image_status, 'deleted')
  assert.equal(file.image_id, null)
  assert.equal(file.image_error, null)
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select(['kind', 'payload'])
    .where('kind', '=', 'image.provider-delete')
    .execute()
  assert.ok(
    jobs.some((j) => {
      const p = JSON.parse(j.payload)
      return p.cfImageId === img.cf_image_id && p.provider === 'local'
    }),
    'a provider delete job for the image',
  )
})

test('POST /api/images provisions a file again after a delete: 202 with the file, pending', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const img = await newImage(t, ws.id, { size: 4321 })
  assert.equal((await owner.api.del(`/api/images/${img.id}`)).statusCode, 200)

  const res = await owner.api.post('/api/images', { fileId: img.file_id })
  assert.equal(res.statusCode, 202, res.body)
  const file = json<Record<string, unknown>>(res)
  assert.deepEqual(Object.keys(file).sort(), [
    'createdAt',
    'createdBy',
    'id',
    'image',
    'mime',
    'name',
    'sha256',
    'size',
    'workspaceId',
  ])
  assert.equal(file.id, img.file_id)
  assert.equal(file.workspaceId, ws.id)
  assert.equal(file.mime, 'image/jpeg')
  assert.equal(file.size, 4321)
  assert.deepEqual(file.image, { status: 'pending', id: null, error: null })
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', 'image.provision')
    .execute()
  assert.ok(jobs.some((j) => JSON.parse(j.payload).fileId === img.file_id))
})

test('POST /api/images provisions a failed file', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const file = await newFile(t, ws.id, { status: 'failed', mime: 'image/png' })
  const res = await owner.api.post('/api/images', { fileId: file.id })
  assert.equal(res.statusCode, 202, res.body)
  assert.equal(json<{ image: { status: string } }>(res).image.status, 'pending')
})

test('the OpenAPI document describes all five routes with parameters and examples', async () => {
  const doc = json<{ paths: Record<string, Record<string, Record<string, unknown>>> }>(
    await client(t, null).get('/api/openapi.json'),
  )
  const list = doc.paths['/api/images']!
  assert.ok(list.get && list.post)
  const params = (list.get.parameters as { name: string; description?: string }[]).map((p) => p.name)
  assert.deepEqual(params.sort(), ['after', 'before', 'ids', 'limit', 'workspace_id'])
  assert.ok(doc.paths['/api/images/{id}']?.get && doc.paths['/api/images/{id}']?.delete)
  assert.ok(doc.paths['/api/images/by-file/{file_id}']?.get)
  const text = JSON.stringify(doc)
  assert.match(text, /Keyset cursor — return the page after this row/)
  assert.match(text, /The underlying file's prefixed ID/)
  assert.match(text, /"examples"/)
})
