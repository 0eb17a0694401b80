import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { expectError } from '../expect.js'
import { type Client, client, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
let admin: Client
let lists: { name: string; url: string; api: Client }[]
before(async () => {
  t = await createTestEnv()
  admin = client(t, t.adminToken)
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  for (let i = 0; i < 2; i++) {
    const u = await newUser(t)
    await owner.api.put(`/api/workspaces/${ws.id}/members/${u.id}`, { role: 'viewer' })
    await newWorkspace(owner)
    await owner.api.post('/api/tokens', { name: `extra ${i}` })
  }
  lists = [
    { name: 'users', url: '/api/users', api: admin },
    { name: 'tokens', url: '/api/tokens', api: owner.api },
    { name: 'workspaces', url: '/api/workspaces', api: owner.api },
    { name: 'members', url: `/api/workspaces/${ws.id}/members`, api: owner.api },
  ]
})
after(() => t.close())

type PageInfo = {
  total: number
  hasNextPage: boolean
  hasPreviousPage: boolean
  startCursor: string | null
  endCursor: string | null
}
type Page = { data: ({ id: string } & Record<string, string>)[]; pageInfo: PageInfo }
const page = async (api: Client, url: string) => {
  const res = await api.get(url)
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as Page
}
const endCursorOf = async (l: { url: string; api: Client }) =>
  (await page(l.api, `${l.url}?limit=1`)).pageInfo.endCursor!

/** Ways of spoiling a valid cursor, each of which the server must notice. */
function spoiled(cursor: string): [string, string][] {
  const [body, sig] = cursor.split('.') as [string, string]
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const flip = (s: string, i: number) => s.slice(0, i) + b64[b64.indexOf(s[i]!) ^ 1] + s.slice(i + 1)
  return [
    ['garbage', 'xxx'],
    ['empty signature', `${body}.`],
    ['no signature', body],
    ['truncated', cursor.slice(0, -3)],
    ['a changed body', `${flip(body, 2)}.${sig}`],
    // The last base64url character carries unused bits: a lax decoder would accept this one.
    ['a changed last character', flip(cursor, cursor.length - 1)],
    ['extra characters', `${cursor}A`],
    [
      'another list’s body',
      `${Buffer.from('images\nimg_00000000000000000000000000').toString('base64url')}.${sig}`,
    ],
  ]
}

describe('list contract: bad parameters', () => {
  test('limit 0, 101, abc, 1.5 or -1 answers 400 naming limit, on every list', async () => {
    for (const l of lists) {
      for (const limit of ['0', '101', 'abc', '1.5', '-1', '']) {
        expectError(await l.api.get(`${l.url}?limit=${limit}`), 400, 'invalid_request', 'limit')
      }
      assert.equal((await page(l.api, `${l.url}?limit=100`)).pageInfo.hasPreviousPage, false)
    }
  })

  test('after with before answers 400', async () => {
    for (const l of lists) {
      const c = await endCursorOf(l)
      expectError(await l.api.get(`${l.url}?after=${c}&before=${c}`), 400, 'invalid_request')
    }
  })

  test('a tampered, truncated or garbage cursor answers 400 invalid_cursor, after and before', async () => {
    for (const l of lists) {
      const cursor = await endCursorOf(l)
      for (const [what, bad] of spoiled(cursor)) {
        for (const param of ['after', 'before']) {
          const res = await l.api.get(`${l.url}?${param}=${encodeURIComponent(bad)}`)
          assert.equal(
            res.json().error?.code,
            'invalid_cursor',
            `${l.name} ${param} with ${what}: ${res.body}`,
          )
          expectError(res, 400, 'invalid_cursor')
        }
      }
      assert.equal((await l.api.get(`${l.url}?after=${encodeURIComponent(cursor)}`)).statusCode, 200)
    }
  })

  test('a cursor from another list endpoint answers 400 invalid_cursor', async () => {
    const cursors = await Promise.all(lists.map(endCursorOf))
    for (const [i, l] of lists.entries()) {
      for (const [j, foreign] of cursors.entries()) {
        if (i === j) continue
        expectError(await l.api.get(`${l.url}?after=${foreign}`), 400, 'invalid_cursor')
        expectError(await l.api.get(`${l.url}?before=${foreign}`), 400, 'invalid_cursor')
      }
    }
  })

  test('more than 100 distinct ids answers 400 naming ids; duplicates do not count', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `usr_${String(i).padStart(26, '0')}`)
    for (const l of lists) {
      expectError(await l.api.get(`${l.url}?ids=${many(101).join(',')}`), 400, 'invalid_request', 'ids')
      const hundred = [...many(100), ...many(100), ' usr_00000000000000000000000001 '].join(',')
      assert.equal((await l.api.get(`${l.url}?ids=${encodeURIComponent(hundred)}`)).statusCode, 200)
    }
  })
})

describe('list contract: ids narrow within what the caller sees', () => {
  test('malformed, unknown, invisible and foreign ids are silently absent', async () => {
    const alice = await newUser(t)
    const bob = await newUser(t)
    const mine = await newWorkspace(alice)
    const theirs = await newWorkspace(bob)
    const junk = ['ws_nope', 'ws_00000000000000000000000000', theirs.id, alice.id, '', ' ']
    const res = await page(
      alice.api,
      `/api/workspaces?ids=${encodeURIComponent([...junk, mine.id].join(','))}`,
    )
    assert.deepEqual(
      res.data.map((w) => w.id),
      [mine.id],
    )
    assert.equal(res.pageInfo.total, 1)
    const none = await page(alice.api, `/api/workspaces?ids=${encodeURIComponent(junk.join(','))}`)
    assert.deepEqual(none.data, [])
    assert.deepEqual(none.pageInfo, {
      total: 0,
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    })

    const bobTokens = (await page(bob.api, '/api/tokens')).data.map((tk) => tk.id)
    const aliceTokens = (await page(alice.api, '/api/tokens')).data.map((tk) => tk.id)
    const narrowed = await page(
      alice.api,
      `/api/tokens?ids=${[...bobTokens, ...aliceTokens, mine.id].join(',')}`,
    )
    assert.deepEqual(
      narrowed.data.map((tk) => tk.id),
      aliceTokens,
    )
  })
})

describe('list contract: ids with cursors', () => {
  test('a list narrowed to ids pages both ways with exact flags and total, even past a cursor it does not hold', async () => {
    const user = await newUser(t)
    for (let i = 0; i < 7; i++) await t.c.tokens.mint(user.id, `named ${i}`)
    const every = (await page(user.api, '/api/tokens')).data.map((r) => r.id)
    // Five of the eight, newest first: the newest, the oldest and one in the middle are left out.
    const named = [every[1], every[2], every[4], every[5], every[6]] as string[]
    const url = `/api/tokens?ids=${[...named].reverse().join(',')}&limit=2`
    const walk: string[][] = []
    let p = await page(user.api, url)
    assert.deepEqual([p.pageInfo.total, p.pageInfo.hasPreviousPage, p.pageInfo.hasNextPage], [5, false, true])
    walk.push(p.data.map((r) => r.id))
    while (p.pageInfo.hasNextPage) {
      p = await page(user.api, `${url}&after=${p.pageInfo.endCursor}`)
      assert.equal(p.pageInfo.total, 5)
      assert.equal(p.pageInfo.hasPreviousPage, true)
      walk.push(p.data.map((r) => r.id))
    }
    assert.deepEqual(walk, [named.slice(0, 2), named.slice(2, 4), named.slice(4)])
    const back = await page(user.api, `${url}&before=${p.pageInfo.startCursor}`)
    assert.deepEqual(
      back.data.map((r) => r.id),
      named.slice(2, 4),
    )
    assert.deepEqual([back.pageInfo.hasPreviousPage, back.pageInfo.hasNextPage], [true, true])

    // Cursors of rows outside the ids: every[3] lies between named[1] and named[2], every[0] before all.
    const cursorOf = async (index: number) =>
      (await page(user.api, `/api/tokens?limit=${index + 1}`)).pageInfo.endCursor as string
    const past = await page(user.api, `${url}&after=${await cursorOf(3)}`)
    assert.deepEqual(
      past.data.map((r) => r.id),
      named.slice(2, 4),
    )
    assert.deepEqual([past.pageInfo.hasPreviousPage, past.pageInfo.hasNextPage], [true, true])
    const newer = await page(user.api, `${url}&before=${await cursorOf(0)}`)
    assert.deepEqual(newer.data, [])
    assert.deepEqual([newer.pageInfo.hasPreviousPage, newer.pageInfo.hasNextPage], [false, true])
  })
})

describe('list contract: paging', () => {
  test('limit defaults to 100; the pages walk every row once in both directions', async () => {
    const user = await newUser(t)
    for (let i = 0; i < 104; i++) await t.c.tokens.mint(user.id, `bulk ${i}`)
    const all = await page(user.api, '/api/tokens')
    assert.equal(all.data.length, 100)
    assert.equal(all.pageInfo.total, 105)
    assert.equal(all.pageInfo.hasNextPage, true)
    assert.equal(all.pageInfo.hasPreviousPage, false)

    const seen: string[] = []
    let p = await page(user.api, '/api/tokens?limit=40')
    seen.push(...p.data.map((r) => r.id))
    while (p.pageInfo.hasNextPage) {
      p = await page(user.api, `/api/tokens?limit=40&after=${p.pageInfo.endCursor}`)
      seen.push(...p.data.map((r) => r.id))
    }
    assert.equal(seen.length, 105)
    assert.deepEqual([...seen].sort().reverse(), seen)
    assert.equal(p.pageInfo.hasPreviousPage, true)

    const back: string[] = [...p.data.map((r) => r.id)]
    while (p.pageInfo.hasPreviousPage) {
      p = await page(user.api, `/api/tokens?limit=40&before=${p.pageInfo.startCursor}`)
      back.unshift(...p.data.map((r) => r.id))
    }
    assert.deepEqual(back, seen)
    assert.equal(p.pageInfo.hasNextPage, true)
  })

  test('a cursor stays valid after its row is deleted; an empty page has null cursors', async () => {
    const user = await newUser(t)
    const ws = [await newWorkspace(user, '1'), await newWorkspace(user, '2'), await newWorkspace(user, '3')]
    const first = await page(user.api, '/api/workspaces?limit=2')
    assert.deepEqual(
      first.data.map((w) => w.id),
      [ws[2]!.id, ws[1]!.id],
    )
    await user.api.del(`/api/workspaces/${ws[1]!.id}`)
    const next = await page(user.api, `/api/workspaces?limit=2&after=${first.pageInfo.endCursor}`)
    assert.deepEqual(
      next.data.map((w) => w.id),
      [ws[0]!.id],
    )
    assert.deepEqual(
      { next: next.pageInfo.hasNextPage, prev: next.pageInfo.hasPreviousPage, total: next.pageInfo.total },
      { next: false, prev: true, total: 2 },
    )
    const empty = await page(user.api, `/api/workspaces?limit=2&after=${next.pageInfo.endCursor}`)
    assert.deepEqual(empty.data, [])
    assert.deepEqual(empty.pageInfo, {
      total: 2,
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: null,
      endCursor: null,
    })
    // The cursor's row and everything newer gone: nothing lies before the cursor any more.
    await user.api.del(`/api/workspaces/${ws[2]!.id}`)
    const alone = await page(user.api, `/api/workspaces?limit=2&after=${first.pageInfo.endCursor}`)
    assert.deepEqual(
      alone.data.map((w) => w.id),
      [ws[0]!.id],
    )
    assert.deepEqual(
      { next: alone.pageInfo.hasNextPage, prev: alone.pageInfo.hasPreviousPage, total: alone.pageInfo.total },
      { next: false, prev: false, total: 1 },
    )
  })
})
