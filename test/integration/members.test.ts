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

type Member = { userId: string; email: string | null; name: string | null; role: string; createdAt: string }
const members = async (api: Client, wsId: string, query = '') =>
  json<{ data: Member[]; pageInfo: { total: number } }>(
    await api.get(`/api/workspaces/${wsId}/members${query}`),
  )
const roles = (page: { data: Member[] }) => page.data.map((m) => [m.userId, m.role])

describe('members: privacy', () => {
  test('email goes only to admins and to the member themself, as GET /api/users/{id} allows', async () => {
    const owner = await newUser(t)
    const stranger = await newUser(t)
    const ws = await newWorkspace(owner)
    // The owner may not read the stranger's user record...
    expectError(await owner.api.get(`/api/users/${stranger.id}`), 403, 'forbidden')
    // ...so adding them by id reveals no address, nor does any list of members.
    const added = await owner.api.put(`/api/workspaces/${ws.id}/members/${stranger.id}`, { role: 'editor' })
    assert.equal(added.statusCode, 201, added.body)
    assert.equal(added.json().email, null)
    const changed = await owner.api.put(`/api/workspaces/${ws.id}/members/${stranger.id}`, { role: 'viewer' })
    assert.equal(changed.statusCode, 200)
    assert.equal(changed.json().email, null)
    const byOwner = await members(owner.api, ws.id)
    assert.deepEqual(
      byOwner.data.map((m) => [m.userId, m.email]),
      [
        [stranger.id, null],
        [owner.id, owner.email],
      ],
      'the owner sees their own address only',
    )
    const byStranger = await members(stranger.api, ws.id)
    assert.deepEqual(
      byStranger.data.map((m) => [m.userId, m.email]),
      [
        [stranger.id, stranger.email],
        [owner.id, null],
      ],
    )
    const byAdmin = await members(admin, ws.id)
    assert.deepEqual(
      byAdmin.data.map((m) => [m.userId, m.email]),
      [
        [stranger.id, stranger.email],
        [owner.id, owner.email],
      ],
    )
    const addedByAdmin = await admin.put(`/api/workspaces/${ws.id}/members/${stranger.id}`, { role: 'owner' })
    assert.equal(addedByAdmin.json().email, stranger.email)
  })
})

describe('members: happy path', () => {
  test('PUT adds a member (201), then changes the role (200)', async () => {
    const owner = await newUser(t)
    const user = await newUser(t)
    const ws = await newWorkspace(owner)
    const added = await owner.api.put(`/api/workspaces/${ws.id}/members/${user.id}`, { role: 'viewer' })
    assert.equal(added.statusCode, 201, added.body)
    const member = added.json()
    assert.deepEqual(Object.keys(member).sort(), ['createdAt', 'email', 'name', 'role', 'userId'])
    assert.equal(member.userId, user.id)
    assert.equal(member.email, null, 'an owner learns no address by adding a user')
    assert.match(member.name, /^User \d+$/)
    assert.equal(member.role, 'viewer')
    assert.match(member.createdAt, ISO_UTC)
    assert.equal(json<{ role: string }>(await user.api.get(`/api/workspaces/${ws.id}`)).role, 'viewer')

    const changed = await owner.api.put(`/api/workspaces/${ws.id}/members/${user.id}`, { role: 'editor' })
    assert.equal(changed.statusCode, 200, changed.body)
    assert.deepEqual(changed.json(), { ...member, role: 'editor' })
    assert.equal(json<{ role: string }>(await user.api.get(`/api/workspaces/${ws.id}`)).role, 'editor')
  })

  test('GET members lists newest membership first, with total and ids filter by user id', async () => {
    const owner = await newUser(t)
    const [a, b, c] = [await newUser(t), await newUser(t), await newUser(t)]
    const ws = await newWorkspace(owner)
    // Added in the order b, a, c: the list follows membership age, not user age.
    for (const [u, role] of [
      [b, 'editor'],
      [a, 'viewer'],
      [c, 'owner'],
    ] as const) {
      assert.equal(
        (await owner.api.put(`/api/workspaces/${ws.id}/members/${u.id}`, { role })).statusCode,
        201,
      )
    }
    const page = await members(a.api, ws.id)
    assert.deepEqual(roles(page), [
      [c.id, 'owner'],
      [a.id, 'viewer'],
      [b.id, 'editor'],
      [owner.id, 'owner'],
    ])
    assert.equal(page.pageInfo.total, 4)
    assert.deepEqual(page.data[1], {
      userId: a.id,
      email: a.email, // a reads their own membership
      name: page.data[1]!.name,
      role: 'viewer',
      createdAt: page.data[1]!.createdAt,
    })
    const narrowed = await members(owner.api, ws.id, `?ids=${b.id},${owner.id},${ws.id},junk`)
    assert.deepEqual(roles(narrowed), [
      [b.id, 'editor'],
      [owner.id, 'owner'],
    ])
    assert.equal(narrowed.pageInfo.total, 2)
    // Changing a role keeps the membership's place.
    await owner.api.put(`/api/workspaces/${ws.id}/members/${b.id}`, { role: 'viewer' })
    assert.deepEqual(
      (await members(owner.api, ws.id)).data.map((m) => m.userId),
      [c.id, a.id, b.id, owner.id],
    )
  })

  test('DELETE removes a member (owner) and a member may leave', async () => {
    const owner = await newUser(t)
    const [a, b] = [await newUser(t), await newUser(t)]
    const ws = await newWorkspace(owner)
    await owner.api.put(`/api/workspaces/${ws.id}/members/${a.id}`, { role: 'editor' })
    await owner.api.put(`/api/workspaces/${ws.id}/members/${b.id}`, { role: 'viewer' })

    const removed = await owner.api.del(`/api/workspaces/${ws.id}/members/${a.id}`)
    assert.equal(removed.statusCode, 200, removed.body)
    assert.deepEqual(removed.json(), { success: true })
    expectError(await a.api.get(`/api/workspaces/${ws.id}`), 404, 'not_found')

    const left = await b.api.del(`/api/workspaces/${ws.id}/members/${b.id}`)
    assert.equal(left.statusCode, 200, left.body)
    expectError(await b.api.get(`/api/workspaces/${ws.id}`), 404, 'not_found')
    assert.deepEqual(roles(await members(owner.api, ws.id)), [[owner.id, 'owner']])
  })

  test('an admin who is not a member manages members', async () => {
    const owner = await newUser(t)
    const user = await newUser(t)
    const ws = await newWorkspace(owner)
    assert.equal((await admin.get(`/api/workspaces/${ws.id}/members`)).statusCode, 200)
    assert.equal(
      (await admin.put(`/api/workspaces/${ws.id}/members/${user.id}`, { role: 'owner' })).statusCode,
      201,
    )
    assert.equal((await admin.del(`/api/workspaces/${ws.id}/members/${owner.id}`)).statusCode, 200)
    assert.deepEqual(roles(await members(user.api, ws.id)), [[user.id, 'owner']])
  })
})

describe('members: errors', () => {
  const bad: [string, unknown, string][] = [
    ['no role', {}, 'role'],
    ['an unknown role', { role: 'admin' }, 'role'],
    ['a role of the wrong type', { role: 3 }, 'role'],
    ['an unknown field', { role: 'viewer', expires: 'never' }, 'expires'],
  ]
  for (const [what, body, field] of bad) {
    test(`PUT with ${what} answers 400 naming ${field}`, async () => {
      const owner = await newUser(t)
      const user = await newUser(t)
      const ws = await newWorkspace(owner)
      expectError(
        await owner.api.put(`/api/workspaces/${ws.id}/members/${user.id}`, body),
        400,
        'invalid_request',
        field,
      )
      expectError(await user.api.get(`/api/workspaces/${ws.id}`), 404, 'not_found')
    })
  }

  test('PUT for a user that does not exist answers 404 and adds nothing', async () => {
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    for (const userId of ['usr_00000000000000000000000000', 'usr_x', ws.id]) {
      expectError(
        await owner.api.put(`/api/workspaces/${ws.id}/members/${userId}`, { role: 'viewer' }),
        404,
        'not_found',
      )
    }
    assert.equal((await members(owner.api, ws.id)).pageInfo.total, 1)
  })

  test('DELETE of someone who is not a member answers 404', async () => {
    const owner = await newUser(t)
    const stranger = await newUser(t)
    const ws = await newWorkspace(owner)
    expectError(await owner.api.del(`/api/workspaces/${ws.id}/members/${stranger.id}`), 404, 'not_found')
    expectError(await owner.api.del(`/api/workspaces/${ws.id}/members/nope`), 404, 'not_found')
  })

  test('the last owner can be neither removed nor demoted (409)', async () => {
    const owner = await newUser(t)
    const second = await newUser(t)
    const ws = await newWorkspace(owner)
    const self = `/api/workspaces/${ws.id}/members/${owner.id}`
    expectError(await owner.api.del(self), 409, 'conflict')
    expectError(await owner.api.put(self, { role: 'editor' }), 409, 'conflict')
    expectError(await admin.del(self), 409, 'conflict')
    expectError(await admin.put(self, { role: 'viewer' }), 409, 'conflict')
    assert.deepEqual(roles(await members(owner.api, ws.id)), [[owner.id, 'owner']])

    // With a second owner, one may step down; then the other is the last.
    await owner.api.put(`/api/workspaces/${ws.id}/members/${second.id}`, { role: 'owner' })
    const demoted = await owner.api.put(self, { role: 'viewer' })
    assert.equal(demoted.statusCode, 200, demoted.body)
    expectError(
      await second.api.put(`/api/workspaces/${ws.id}/members/${second.id}`, { role: 'editor' }),
      409,
      'conflict',
    )
    expectError(await second.api.del(`/api/workspaces/${ws.id}/members/${second.id}`), 409, 'conflict')
    // Re-affirming the last owner's role is no demotion.
    const same = await second.api.put(`/api/workspaces/${ws.id}/members/${second.id}`, { role: 'owner' })
    assert.equal(same.statusCode, 200, same.body)
  })

  test('every members endpoint answers 401 without a valid token', async () => {
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    const anon = client(t, null)
    const path = `/api/workspaces/${ws.id}/members`
    expectError(await anon.get(path), 401, 'unauthorized')
    expectError(await anon.put(`${path}/${owner.id}`, { role: 'viewer' }), 401, 'unauthorized')
    expectError(await anon.del(`${path}/${owner.id}`), 401, 'unauthorized')
  })
})
