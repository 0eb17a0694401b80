import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { expectError, ISO_UTC } from '../expect.js'
import { type Client, client, json, newUser } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
let admin: Client
before(async () => {
  t = await createTestEnv()
  admin = client(t, t.adminToken)
})
after(() => t.close())

type TokenOut = { id: string; name: string; userId: string; createdAt: string; expiresAt: string | null }
const listIds = async (api: Client) =>
  json<{ data: TokenOut[] }>(await api.get('/api/tokens')).data.map((tk) => tk.id)

describe('tokens: happy path', () => {
  test('POST /api/tokens mints a working token shown once', async () => {
    const user = await newUser(t)
    const res = await user.api.post('/api/tokens', { name: 'laptop' })
    assert.equal(res.statusCode, 201, res.body)
    const minted = res.json()
    assert.deepEqual(Object.keys(minted).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'token', 'userId'])
    assert.match(minted.id, /^tok_[0-9a-z]{26}$/)
    assert.equal(minted.name, 'laptop')
    assert.equal(minted.userId, user.id)
    assert.equal(minted.expiresAt, null)
    assert.match(minted.createdAt, ISO_UTC)
    assert.match(minted.token, /^pic_[A-Za-z0-9_-]{40,}$/)
    assert.equal(json(await client(t, minted.token).get('/api/me')).id, user.id)

    const listed = json<{ data: Record<string, unknown>[] }>(await user.api.get('/api/tokens')).data
    const row = listed.find((tk) => tk.id === minted.id)
    assert.deepEqual(row, {
      id: minted.id,
      name: 'laptop',
      userId: user.id,
      createdAt: minted.createdAt,
      expiresAt: null,
    })
    assert.ok(!JSON.stringify(listed).includes(minted.token), 'the list never shows a secret')
  })

  test('expiresAt is kept and answered in ISO UTC', async () => {
    const at = new Date(Date.now() + 86_400_000)
    const res = await admin.post('/api/tokens', {
      name: 'day',
      expiresAt: at.toISOString().replace('Z', '+00:00'),
    })
    assert.equal(res.statusCode, 201, res.body)
    assert.equal(res.json().expiresAt, at.toISOString())
    assert.equal((await client(t, res.json().token).get('/api/me')).statusCode, 200)
  })

  test('GET /api/tokens lists only the caller’s tokens, whoever minted them, newest first', async () => {
    const user = await newUser(t)
    const byAdmin = await admin.post('/api/tokens', { name: 'for user', userId: user.id })
    assert.equal(byAdmin.statusCode, 201, byAdmin.body)
    assert.equal(byAdmin.json().userId, user.id)
    const own = json<{ id: string }>(await user.api.post('/api/tokens', { name: 'own' }))

    const ids = await listIds(user.api)
    assert.equal(ids.length, 3, 'the factory token, the admin-minted one and their own')
    assert.deepEqual(ids.slice(0, 2), [own.id, byAdmin.json().id])
    assert.deepEqual([...ids].sort().reverse(), ids)
    const adminIds = await listIds(admin)
    assert.ok(!adminIds.includes(byAdmin.json().id), 'a token for another user is not in the minter’s list')
    assert.ok(adminIds.every((id) => !ids.includes(id)))
  })

  test('DELETE /api/tokens/{id} revokes at once: the very next request fails', async () => {
    const user = await newUser(t)
    const minted = json<{ id: string; token: string }>(await user.api.post('/api/tokens', { name: 'tmp' }))
    const api = client(t, minted.token)
    assert.equal((await api.get('/api/me')).statusCode, 200)
    const res = await user.api.del(`/api/tokens/${minted.id}`)
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { success: true })
    expectError(await api.get('/api/me'), 401, 'unauthorized')
    assert.ok(!(await listIds(user.api)).includes(minted.id))
    expectError(await user.api.del(`/api/tokens/${minted.id}`), 404, 'not_found')
  })

  test('a token can revoke itself', async () => {
    const user = await newUser(t)
    const mine = json<{ data: TokenOut[] }>(await user.api.get('/api/tokens')).data[0]!
    assert.equal((await user.api.del(`/api/tokens/${mine.id}`)).statusCode, 200)
    expectError(await user.api.get('/api/me'), 401, 'unauthorized')
  })

  test('an admin revokes another user’s token', async () => {
    const user = await newUser(t)
    const [id] = await listIds(user.api)
    assert.deepEqual(json(await admin.del(`/api/tokens/${id}`)), { success: true })
    expectError(await user.api.get('/api/me'), 401, 'unauthorized')
  })
})

describe('tokens: errors', () => {
  const bad: [string, unknown, string][] = [
    ['no name', {}, 'name'],
    ['an empty name', { name: '' }, 'name'],
    ['a name of the wrong type', { name: 7 }, 'name'],
    ['a date without time', { name: 'x', expiresAt: '2999-01-01' }, 'expiresAt'],
    ['a non-date', { name: 'x', expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a past expiry', { name: 'x', expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    ['an expiry of now', { name: 'x', expiresAt: new Date().toISOString() }, 'expiresAt'],
    ['an unknown field', { name: 'x', scopes: ['all'] }, 'scopes'],
    ['a userId of the wrong type', { name: 'x', userId: 1 }, 'userId'],
  ]
  for (const [what, body, field] of bad) {
    test(`POST /api/tokens with ${what} answers 400 naming ${field}`, async () => {
      expectError(await admin.post('/api/tokens', body), 400, 'invalid_request', field)
    })
  }

  test('minting for an unknown user answers 404', async () => {
    for (const userId of ['usr_00000000000000000000000000', 'someone']) {
      expectError(await admin.post('/api/tokens', { name: 'x', userId }), 404, 'not_found')
    }
  })

  test('unknown or malformed token ids answer 404', async () => {
    for (const id of ['tok_00000000000000000000000000', 'tok_', 'usr_00000000000000000000000000']) {
      expectError(await admin.del(`/api/tokens/${id}`), 404, 'not_found')
    }
  })

  test('every tokens endpoint answers 401 without a valid token', async () => {
    const anon = client(t, null)
    expectError(await anon.post('/api/tokens', { name: 'x' }), 401, 'unauthorized')
    expectError(await anon.get('/api/tokens'), 401, 'unauthorized')
    expectError(await anon.del('/api/tokens/tok_00000000000000000000000000'), 401, 'unauthorized')
  })
})

describe('tokens: security', () => {
  test('a member cannot mint tokens for others, only for themself', async () => {
    const member = await newUser(t)
    const other = await newUser(t)
    const me = json<{ id: string }>(await admin.get('/api/me'))
    expectError(await member.api.post('/api/tokens', { name: 'x', userId: other.id }), 403, 'forbidden')
    expectError(await member.api.post('/api/tokens', { name: 'x', userId: me.id }), 403, 'forbidden')
    assert.equal((await listIds(other.api)).length, 1)
    const own = await member.api.post('/api/tokens', { name: 'x', userId: member.id })
    assert.equal(own.statusCode, 201, own.body)
  })

  test('a member cannot revoke someone else’s token: 404, and it keeps working', async () => {
    const member = await newUser(t)
    const victim = await newUser(t)
    const [victimToken] = await listIds(victim.api)
    const [adminToken] = await listIds(admin)
    expectError(await member.api.del(`/api/tokens/${victimToken}`), 404, 'not_found')
    expectError(await member.api.del(`/api/tokens/${adminToken}`), 404, 'not_found')
    assert.equal((await victim.api.get('/api/me')).statusCode, 200)
    assert.equal((await admin.get('/api/me')).statusCode, 200)
  })

  test('an expired token fails', async () => {
    const user = await newUser(t)
    const soon = new Date(Date.now() + 2500).toISOString()
    const minted = json<{ token: string }>(
      await user.api.post('/api/tokens', { name: 'short', expiresAt: soon }),
    )
    const api = client(t, minted.token)
    assert.equal((await api.get('/api/me')).statusCode, 200)
    await sleep(Date.parse(soon) - Date.now() + 50)
    expectError(await api.get('/api/me'), 401, 'unauthorized')
    expectError(await api.get('/api/tokens'), 401, 'unauthorized')

    const stale = await t.c.tokens.mint(user.id, 'stale', '2020-01-01T00:00:00.000Z')
    expectError(await client(t, stale.token).get('/api/me'), 401, 'unauthorized')
  })

  test('the bearer scheme is case-insensitive but the secret is exact', async () => {
    const res = await t.app.inject({ url: '/api/me', headers: { authorization: `bearer ${t.adminToken}` } })
    assert.equal(res.statusCode, 200)
    const flipped = t.adminToken.slice(0, -1) + (t.adminToken.endsWith('A') ? 'B' : 'A')
    expectError(await client(t, flipped).get('/api/me'), 401, 'unauthorized')
  })
})
