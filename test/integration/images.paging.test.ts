import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { urlOpening } from '../../src/features/images/image-json.js'
import { ImageReads } from '../../src/features/images/images.repository.js'
import {
  addMember,
  type Client,
  client,
  json,
  newImage,
  newUser,
  newWorkspace,
  removeImage,
} from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

interface PageBody {
  data: { id: string }[]
  pageInfo: {
    total: number
    hasNextPage: boolean
    hasPreviousPage: boolean
    startCursor: string | null
    endCursor: string | null
  }
}

async function page(api: Client, query: string): Promise<PageBody> {
  const res = await api.get(`/api/images?${query}`)
  assert.equal(res.statusCode, 200, res.body)
  return json<PageBody>(res)
}

/** Walks forward with after=endCursor until hasNextPage is false. */
async function walkForward(api: Client, base: string, limit: number): Promise<PageBody[]> {
  const pages = [await page(api, `${base}&limit=${limit}`)]
  while (pages.at(-1)!.pageInfo.hasNextPage) {
    pages.push(await page(api, `${base}&limit=${limit}&after=${pages.at(-1)!.pageInfo.endCursor}`))
  }
  return pages
}

async function seeded(n: number) {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await newImage(t, ws.id)).id)
  return { owner, ws, newestFirst: ids.reverse() }
}

test('forward pages of 7 visit 23 images once, newest first, with exact flags and total', async () => {
  const { owner, ws, newestFirst } = await seeded(23)
  const pages = await walkForward(owner.api, `workspace_id=${ws.id}`, 7)
  assert.deepEqual(
    pages.map((p) => p.data.length),
    [7, 7, 7, 2],
  )
  assert.deepEqual(
    pages.flatMap((p) => p.data.map((i) => i.id)),
    newestFirst,
  )
  pages.forEach((p, i) => {
    assert.equal(p.pageInfo.total, 23)
    assert.equal(p.pageInfo.hasPreviousPage, i > 0, `page ${i} hasPreviousPage`)
    assert.equal(p.pageInfo.hasNextPage, i < pages.length - 1, `page ${i} hasNextPage`)
    assert.ok(p.pageInfo.startCursor && p.pageInfo.endCursor)
  })
})

test('paging backward from the end with before=startCursor gives the forward pages back, flags exact', async () => {
  const { owner, ws } = await seeded(23)
  const base = `workspace_id=${ws.id}`
  const forward = await walkForward(owner.api, base, 7)
  // From the last forward page (the short remainder), each before=startCursor page is the forward page before it.
  const backward = [forward.at(-1)!]
  while (backward.at(-1)!.pageInfo.hasPreviousPage) {
    backward.push(await page(owner.api, `${base}&limit=7&before=${backward.at(-1)!.pageInfo.startCursor}`))
  }
  assert.equal(backward.length, forward.length)
  backward.reverse()
  for (let i = 0; i < forward.length; i++) {
    assert.deepEqual(
      backward[i]!.data.map((x) => x.id),
      forward[i]!.data.map((x) => x.id),
      `page ${i}`,
    )
    assert.deepEqual(backward[i]!.pageInfo, forward[i]!.pageInfo, `page ${i} pageInfo`)
  }
})

test('a page walked back from the middle answers the same rows and flags as forward', async () => {
  const { owner, ws, newestFirst } = await seeded(10)
  const base = `workspace_id=${ws.id}&limit=3`
  const second = await page(owner.api, `${base}&after=${(await page(owner.api, base)).pageInfo.endCursor}`)
  assert.deepEqual(
    second.data.map((i) => i.id),
    newestFirst.slice(3, 6),
  )
  const third = await page(owner.api, `${base}&after=${second.pageInfo.endCursor}`)
  const backToSecond = await page(owner.api, `${base}&before=${third.pageInfo.startCursor}`)
  assert.deepEqual(backToSecond, second)
})

test('empty pages on either edge say which side has rows; cursors are null', async () => {
  const { owner, ws } = await seeded(5)
  const base = `workspace_id=${ws.id}&limit=5`
  const all = await page(owner.api, base)
  assert.equal(all.pageInfo.hasNextPage, false)

  const pastEnd = await page(owner.api, `${base}&after=${all.pageInfo.endCursor}`)
  assert.deepEqual(pastEnd, {
    data: [],
    pageInfo: { total: 5, hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
  })
  const beforeStart = await page(owner.api, `${base}&before=${all.pageInfo.startCursor}`)
  assert.deepEqual(beforeStart, {
    data: [],
    pageInfo: { total: 5, hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null },
  })

  const lonely = await newWorkspace(owner)
  assert.deepEqual(await page(owner.api, `workspace_id=${lonely.id}`), {
    data: [],
    pageInfo: { total: 0, hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
  })
})

test('limit defaults to 100 and caps a page', async () => {
  const { owner, ws, newestFirst } = await seeded(102)
  const first = await page(owner.api, `workspace_id=${ws.id}`)
  assert.equal(first.data.length, 100)
  assert.equal(first.pageInfo.total, 102)
  assert.equal(first.pageInfo.hasNextPage, true)
  const rest = await page(owner.api, `workspace_id=${ws.id}&after=${first.pageInfo.endCursor}`)
  assert.deepEqual(
    rest.data.map((i) => i.id),
    newestFirst.slice(100),
  )
  const one = await page(owner.api, `workspace_id=${ws.id}&limit=1`)
  assert.deepEqual(
    one.data.map((i) => i.id),
    [newestFirst[0]],
  )
})

test('a cursor stays valid after its row is deleted', async () => {
  const { owner, ws, newestFirst } = await seeded(9)
  const base = `workspace_id=${ws.id}&limit=3`
  const first = await page(owner.api, base)
  assert.equal((await owner.api.del(`/api/images/${first.data[2]!.id}`)).statusCode, 200)
  const next = await page(owner.api, `${base}&after=${first.pageInfo.endCursor}`)
  assert.deepEqual(
    next.data.map((i) => i.id),
    newestFirst.slice(3, 6),
  )
  assert.equal(next.pageInfo.total, 8)
  assert.equal(next.pageInfo.hasPreviousPage, true)
  const back = await page(owner.api, `${base}&before=${first.pageInfo.endCursor}`)
  assert.deepEqual(
    back.data.map((i) => i.id),
    newestFirst.slice(0, 2),
  )
  assert.equal(back.pageInfo.hasNextPage, true, 'rows exist at or after the deleted cursor row')
})

test('ids combine with paging: total counts the matching ids, pages walk them', async () => {
  const { owner, ws, newestFirst } = await seeded(12)
  const picked = newestFirst.filter((_, i) => i % 2 === 0) // 6 of them
  const pages = await walkForward(owner.api, `workspace_id=${ws.id}&ids=${picked.join(',')}`, 4)
  assert.deepEqual(
    pages.flatMap((p) => p.data.map((i) => i.id)),
    picked,
  )
  assert.ok(pages.every((p) => p.pageInfo.total === 6))
})

test('a member pages across their workspaces; an admin across all, totals exact', async () => {
  const alice = await newUser(t)
  const bob = await newUser(t)
  const wsA = await newWorkspace(alice)
  const wsB = await newWorkspace(bob)
  const wsC = await newWorkspace(bob)
  await addMember(t, wsB.id, alice.id, 'viewer')
  const alices: string[] = []
  for (let i = 0; i < 15; i++) {
    const target = [wsA, wsB, wsC][i % 3]!
    const img = await newImage(t, target.id)
    if (target !== wsC) alices.push(img.id)
  }
  const mine = await walkForward(alice.api, '', 4)
  assert.deepEqual(
    mine.flatMap((p) => p.data.map((i) => i.id)),
    alices.reverse(),
  )
  assert.ok(mine.every((p) => p.pageInfo.total === 10))

  const admin = client(t, t.adminToken)
  const everything = (await t.c.db.selectFrom('images').select('id').orderBy('id', 'desc').execute()).map(
    (r) => r.id,
  )
  const pages = await walkForward(admin, '', 37)
  assert.deepEqual(
    pages.flatMap((p) => p.data.map((i) => i.id)),
    everything,
  )
  assert.ok(pages.every((p) => p.pageInfo.total === everything.length))
  await removeImage(t, everything[0]!)
  assert.equal((await page(admin, 'limit=1')).pageInfo.total, everything.length - 1)
})

test('a page of images carries its total from its own statement; only an empty one asks apart', async () => {
  const { ws, newestFirst } = await seeded(3)
  const repo = new ImageReads({ local: urlOpening('http://x/'), cloudflare: urlOpening('http://y/') }, false)
  const page = await repo.page(t.c.db, [ws.id], { limit: 2 })
  assert.deepEqual(
    page.rows.map((r) => r.id),
    newestFirst.slice(0, 2),
  )
  assert.equal(page.total, 3)
  assert.ok(
    page.rows.every((r) => Number((r as { page_total?: unknown }).page_total) === 3),
    'every row of the page carries the total',
  )
  const ids = await repo.page(t.c.db, [ws.id], { limit: 2, ids: [newestFirst[0]!] })
  assert.equal(ids.total, 1, 'with ids, the count of those in the scope')
  const none = await repo.page(t.c.db, ['ws_00000000000000000000000000'], { limit: 2 })
  assert.deepEqual(none.rows, [])
  assert.equal(none.total, 0)
  const alone = await repo.page(t.c.db, [ws.id], { limit: 2, after: newestFirst[2]! })
  assert.deepEqual(alone.rows, [], 'nothing after the oldest')
  assert.equal(alone.total, 3, 'an empty page asks for its total alone')
})
