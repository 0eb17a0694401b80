import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { expectError, ISO_UTC } from '../expect.js'
import { type Client, client, json, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
let admin: Client
before(async () => {
  t = await createTestEnv()
  admin = client(t, t.adminToken)
})
after(() => t.close())

type Ws = { id: string; name: string; createdAt: string; role: string | null }
const ids = (page: { data: { id: string }[] }) => page.data.map((w) => w.id)

describe('workspaces: happy path', () => {
  test('POST /api/workspaces answers 201 with the caller as owner', async () => {
    const user = await newUser(t)
    const res = await user.api.post('/api/workspaces', { name: '  Holiday photos ' })
    assert.equal(res.statusCode, 201, res.body)
    const ws = res.json()
    assert.deepEqual(Object.keys(ws).sort(), ['createdAt', 'id', 'name', 'role'])
    assert.match(ws.id, /^ws_[0-9a-z]{26}$/)
    assert.equal(ws.name, 'Holiday photos')
    assert.equal(ws.role, 'owner')
    assert.match(ws.createdAt, ISO_UTC)
    assert.deepEqual(json(await user.api.get(`/api/workspaces/${ws.id}`)), ws)
    const members = json<{ data: { userId: string; role: string }[] }>(
      await user.api.get(`/api/workspaces/${ws.id}/members`),
    )
    assert.deepEqual(
      members.data.map((m) => [m.userId, m.role]),
      [[user.id, 'owner']],
    )
  })

  test('GET /api/workspaces lists the caller’s workspaces newest first, with their role', async () => {
    const user = await newUser(t)
    const other = await newUser(t)
    const a = await newWorkspace(user, 'A')
    const hidden = await newWorkspace(other, 'Hidden')
    const b = await newWorkspace(other, 'B')
    assert.equal(
      (await other.api.put(`/api/workspaces/${b.id}/members/${user.id}`, { role: 'viewer' })).statusCode,
      201,
    )

    const page = json<{ data: Ws[]; pageInfo: Record<string, unknown> }>(
      await user.api.get('/api/workspaces'),
    )
    assert.deepEqual(ids(page), [b.id, a.id])
    assert.deepEqual(
      page.data.map((w) => w.role),
      ['viewer', 'owner'],
    )
    assert.deepEqual(page.data[0], {
      id: b.id,
      name: 'B',
      createdAt: page.data[0]!.createdAt,
      role: 'viewer',
    })
    assert.equal(page.pageInfo.total, 2)
    assert.equal(page.pageInfo.hasNextPage, false)
    assert.equal(page.pageInfo.hasPreviousPage, false)
    assert.ok(!ids(page).includes(hidden.id))
  })

  test('an admin sees every workspace; role is null where not a member', async () => {
    const user = await newUser(t)
    const ws = await newWorkspace(user, 'Someone else’s')
    const got = json<Ws>(await admin.get(`/api/workspaces/${ws.id}`))
    assert.equal(got.role, null)
    assert.equal(got.name, 'Someone else’s')
    const listed = json<{ data: Ws[] }>(await admin.get(`/api/workspaces?ids=${ws.id}`))
    assert.deepEqual(listed.data, [got])
    const own = json<Ws>(await admin.post('/api/workspaces', { name: 'Admin’s own' }))
    assert.equal(own.role, 'owner')
    const patched = await admin.patch(`/api/workspaces/${ws.id}`, { name: 'Renamed by admin' })
    assert.equal(patched.statusCode, 200, patched.body)
    assert.equal(patched.json().role, null)
    assert.equal(json<Ws>(await user.api.get(`/api/workspaces/${ws.id}`)).name, 'Renamed by admin')
  })

  test('PATCH /api/workspaces/{id} renames (owner)', async () => {
    const user = await newUser(t)
    const ws = await newWorkspace(user, 'Old')
    const res = await user.api.patch(`/api/workspaces/${ws.id}`, { name: ' New ' })
    assert.equal(res.statusCode, 200, res.body)
    const renamed = res.json()
    assert.deepEqual(renamed, { id: ws.id, name: 'New', createdAt: renamed.createdAt, role: 'owner' })
    assert.equal(json<Ws>(await user.api.get(`/api/workspaces/${ws.id}`)).name, 'New')
  })

  test('DELETE /api/workspaces/{id} removes it for everyone (owner)', async () => {
    const user = await newUser(t)
    const viewer = await newUser(t)
    const ws = await newWorkspace(user, 'Gone soon')
    await user.api.put(`/api/workspaces/${ws.id}/members/${viewer.id}`, { role: 'viewer' })
    const res = await user.api.del(`/api/workspaces/${ws.id}`)
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { success: true })
    for (const api of [user.api, viewer.api, admin]) {
      expectError(await api.get(`/api/workspaces/${ws.id}`), 404, 'not_found')
      assert.ok(!ids(json(await api.get('/api/workspaces'))).includes(ws.id))
    }
    expectError(await user.api.get(`/api/workspaces/${ws.id}/members`), 404, 'not_found')
    expectError(await user.api.del(`/api/workspaces/${ws.id}`), 404, 'not_found')
  })
})

describe('workspaces: errors', () => {
  const bad: [string, unknown, string][] = [
    ['no name', {}, 'name'],
    ['an empty name', { name: '' }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a too long name', { name: 'x'.repeat(201) }, 'name'],
    ['a name of the wrong type', { name: 5 }, 'name'],
    ['an unknown field', { name: 'ok', role: 'owner' }, 'role'],
  ]
  for (const [what, body, field] of bad) {
    test(`POST and PATCH with ${what} answer 400 naming ${field}`, async () => {
      expectError(await admin.post('/api/workspaces', body), 400, 'invalid_request', field)
      const ws = await newWorkspace({ api: admin }, 'Keep')
      expectError(await admin.patch(`/api/workspaces/${ws.id}`, body), 400, 'invalid_request', field)
      assert.equal(json<Ws>(await admin.get(`/api/workspaces/${ws.id}`)).name, 'Keep')
    })
  }

  test('a body that is not a JSON object answers 400; another media type 415', async () => {
    expectError(
      await admin.post('/api/workspaces', '{"name"', { 'content-type': 'application/json' }),
      400,
      'invalid_request',
    )
    expectError(
      await admin.post('/api/workspaces', '["x"]', { 'content-type': 'application/json' }),
      400,
      'invalid_request',
    )
    expectError(
      await admin.post('/api/workspaces', '', { 'content-type': 'application/json' }),
      400,
      'invalid_request',
    )
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      expectError(
        await admin.post('/api/workspaces', 'name=x', { 'content-type': type }),
        415,
        'unsupported_media_type',
      )
    }
    const count = json<{ pageInfo: { total: number } }>(await admin.get('/api/workspaces')).pageInfo.total
    expectError(
      await admin.post('/api/workspaces', '{"name": "x"}', { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    )
    assert.equal(
      json<{ pageInfo: { total: number } }>(await admin.get('/api/workspaces')).pageInfo.total,
      count,
    )
  })

  test('a DELETE sent with a JSON content type and no body works', async () => {
    const ws = await newWorkspace({ api: admin })
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/workspaces/${ws.id}`,
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
    })
    assert.equal(res.statusCode, 200, res.body)
    expectError(await admin.get(`/api/workspaces/${ws.id}`), 404, 'not_found')
  })

  test('unknown or malformed workspace ids answer 404', async () => {
    const user = await newUser(t)
    for (const id of ['ws_00000000000000000000000000', 'ws_nope', user.id]) {
      expectError(await admin.get(`/api/workspaces/${id}`), 404, 'not_found')
      expectError(await admin.patch(`/api/workspaces/${id}`, { name: 'x' }), 404, 'not_found')
      expectError(await admin.del(`/api/workspaces/${id}`), 404, 'not_found')
    }
  })

  test('every workspaces endpoint answers 401 without a valid token', async () => {
    const ws = await newWorkspace({ api: admin })
    const anon = client(t, null)
    expectError(await anon.post('/api/workspaces', { name: 'x' }), 401, 'unauthorized')
    expectError(await anon.get('/api/workspaces'), 401, 'unauthorized')
    expectError(await anon.get(`/api/workspaces/${ws.id}`), 401, 'unauthorized')
    expectError(await anon.patch(`/api/workspaces/${ws.id}`, { name: 'x' }), 401, 'unauthorized')
    expectError(await anon.del(`/api/workspaces/${ws.id}`), 401, 'unauthorized')
    assert.equal((await admin.get(`/api/workspaces/${ws.id}`)).statusCode, 200)
  })
})
