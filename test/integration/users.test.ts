import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { expectError, ISO_UTC } from '../expect.js'
import { addMember, type Client, client, json, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
let admin: Client
before(async () => {
  t = await createTestEnv()
  admin = client(t, t.adminToken)
})
after(() => t.close())

describe('users: happy path', () => {
  test('GET /api/me answers the calling user', async () => {
    const res = await admin.get('/api/me')
    assert.equal(res.statusCode, 200)
    const me = res.json()
    assert.deepEqual(Object.keys(me).sort(), ['createdAt', 'email', 'id', 'name', 'role'])
    assert.match(me.id, /^usr_[0-9a-z]{26}$/)
    assert.equal(me.email, 'admin@localhost')
    assert.equal(me.role, 'admin')
    assert.match(me.createdAt, ISO_UTC)

    const member = await newUser(t)
    const mine = json(await member.api.get('/api/me'))
    assert.equal(mine.id, member.id)
    assert.equal(mine.role, 'member')
  })

  test('POST /api/users creates a member by default, email lower-cased', async () => {
    const res = await admin.post('/api/users', { email: 'Ada.Lovelace@Example.COM', name: 'Ada' })
    assert.equal(res.statusCode, 201, res.body)
    const user = res.json()
    assert.deepEqual(
      { ...user, id: 'x', createdAt: 'x' },
      { id: 'x', email: 'ada.lovelace@example.com', name: 'Ada', role: 'member', createdAt: 'x' },
    )
    assert.match(user.id, /^usr_[0-9a-z]{26}$/)
    assert.match(user.createdAt, ISO_UTC)
    assert.deepEqual(json(await admin.get(`/api/users/${user.id}`)), user)
  })

  test('POST /api/users with a role and without a name', async () => {
    const res = await admin.post('/api/users', { email: 'second-admin@example.com', role: 'admin' })
    assert.equal(res.statusCode, 201, res.body)
    assert.equal(res.json().role, 'admin')
    assert.equal(res.json().name, null)
  })

  test('GET /api/users lists users newest first with pageInfo', async () => {
    const a = await newUser(t)
    const b = await newUser(t)
    const res = await admin.get('/api/users?limit=2')
    assert.equal(res.statusCode, 200)
    const page = res.json()
    assert.deepEqual(
      page.data.map((u: { id: string }) => u.id),
      [b.id, a.id],
    )
    assert.deepEqual(Object.keys(page.data[0]).sort(), ['createdAt', 'email', 'id', 'name', 'role'])
    const all = json<{ data: unknown[] }>(await admin.get('/api/users'))
    assert.equal(page.pageInfo.total, all.data.length)
    assert.equal(page.pageInfo.hasNextPage, true)
    assert.equal(page.pageInfo.hasPreviousPage, false)
  })

  test('DELETE /api/users/{id} revokes their tokens and memberships', async () => {
    const owner = await newUser(t)
    const doomed = await newUser(t)
    const ws = await newWorkspace(owner)
    await addMember(t, ws.id, doomed.id, 'editor')
    assert.equal((await doomed.api.get(`/api/workspaces/${ws.id}`)).statusCode, 200)
    const doomedTokens = json<{ data: { id: string }[] }>(await doomed.api.get('/api/tokens')).data

    const res = await admin.del(`/api/users/${doomed.id}`)
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { success: true })

    expectError(await doomed.api.get('/api/me'), 401, 'unauthorized')
    expectError(await admin.get(`/api/users/${doomed.id}`), 404, 'not_found')
    for (const token of doomedTokens)
      expectError(await admin.del(`/api/tokens/${token.id}`), 404, 'not_found')
    const members = json<{ data: { userId: string }[] }>(
      await owner.api.get(`/api/workspaces/${ws.id}/members`),
    )
    assert.deepEqual(
      members.data.map((m) => m.userId),
      [owner.id],
    )
    expectError(await admin.del(`/api/users/${doomed.id}`), 404, 'not_found')
  })
})

describe('users: errors', () => {
  const bad: [string, unknown, string][] = [
    ['missing email', { name: 'x' }, 'email'],
    ['malformed email', { email: 'not-an-email' }, 'email'],
    ['email of the wrong type', { email: 42 }, 'email'],
    ['empty name', { email: 'e1@example.com', name: '' }, 'name'],
    ['null name', { email: 'e2@example.com', name: null }, 'name'],
    ['unknown role', { email: 'e3@example.com', role: 'root' }, 'role'],
    ['workspace role as user role', { email: 'e4@example.com', role: 'owner' }, 'role'],
    ['unknown field', { email: 'e5@example.com', password: 'hunter2' }, 'password'],
  ]
  for (const [what, body, field] of bad) {
    test(`POST /api/users with ${what} answers 400 naming ${field}`, async () => {
      expectError(await admin.post('/api/users', body), 400, 'invalid_request', field)
    })
  }

  test('POST /api/users with a body that is not JSON answers 400', async () => {
    const res = await admin.post('/api/users', '{"email": ', { 'content-type': 'application/json' })
    expectError(res, 400, 'invalid_request')
  })

  test('a duplicate email answers 409, whatever its case', async () => {
    assert.equal((await admin.post('/api/users', { email: 'dup@example.com' })).statusCode, 201)
    expectError(await admin.post('/api/users', { email: 'DUP@example.com' }), 409, 'conflict')
  })

  test('unknown, malformed or foreign user ids answer 404', async () => {
    const ws = await newWorkspace(await newUser(t))
    for (const id of ['usr_00000000000000000000000000', 'nope', ws.id]) {
      expectError(await admin.get(`/api/users/${id}`), 404, 'not_found')
      expectError(await admin.del(`/api/users/${id}`), 404, 'not_found')
    }
  })

  test('the last admin cannot be deleted', async () => {
    const t2 = await createTestEnv()
    try {
      const me = json<{ id: string }>(await client(t2, t2.adminToken).get('/api/me'))
      expectError(await client(t2, t2.adminToken).del(`/api/users/${me.id}`), 409, 'conflict')
      assert.equal((await client(t2, t2.adminToken).get('/api/me')).statusCode, 200)
    } finally {
      await t2.close()
    }
  })

  test('every users endpoint answers 401 with a Bearer challenge without a valid token', async () => {
    const headers = [
      undefined,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer not-a-token',
      `Bearer pic_${'x'.repeat(43)}`,
    ]
    const routes: [string, string][] = [
      ['GET', '/api/me'],
      ['POST', '/api/users'],
      ['GET', '/api/users'],
      ['GET', '/api/users/usr_00000000000000000000000000'],
      ['DELETE', '/api/users/usr_00000000000000000000000000'],
    ]
    for (const authorization of headers) {
      for (const [method, url] of routes) {
        const res = await t.app.inject({
          method: method as 'GET',
          url,
          headers: authorization ? { authorization } : {},
          ...(method === 'POST' ? { payload: { email: 'x@example.com' } } : {}),
        })
        expectError(res, 401, 'unauthorized')
      }
    }
  })
})

describe('users: security', () => {
  test('a member can neither create, list, read nor delete users', async () => {
    const member = await newUser(t)
    const other = await newUser(t)
    expectError(await member.api.post('/api/users', { email: 'sneaky@example.com' }), 403, 'forbidden')
    expectError(
      await member.api.post('/api/users', { email: 'sneaky2@example.com', role: 'admin' }),
      403,
      'forbidden',
    )
    expectError(await member.api.get('/api/users'), 403, 'forbidden')
    expectError(await member.api.get(`/api/users/${other.id}`), 403, 'forbidden')
    expectError(await member.api.del(`/api/users/${other.id}`), 403, 'forbidden')
    assert.equal((await other.api.get('/api/me')).statusCode, 200)
    const list = json<{ data: { email: string }[] }>(await admin.get('/api/users'))
    assert.ok(!list.data.some((u) => u.email.startsWith('sneaky')))
  })
})
