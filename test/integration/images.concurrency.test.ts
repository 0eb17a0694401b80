import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { countersVsRows, json, newFile, newImage, newUser, newWorkspace, removeImage } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

interface PageBody {
  data: { id: string }[]
  pageInfo: { hasNextPage: boolean; endCursor: string | null; total: number }
}

test('a forward walk sees every image that existed throughout exactly once while writers insert and delete', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const other = await newWorkspace(owner)
  const initial: string[] = []
  for (let i = 0; i < 60; i++) initial.push((await newImage(t, ws.id)).id)
  // Every third initial image is deleted during the walk; the rest exist throughout.
  const victims = initial.filter((_, i) => i % 3 === 0)
  const survivors = new Set(initial.filter((_, i) => i % 3 !== 0))

  // better-sqlite3 answers synchronously, so one process could run the whole walk before
  // a writer gets a turn: writers yield between operations, and the reader waits after
  // each page until they have made progress. On PostgreSQL they also overlap in the database.
  const tick = () => new Promise((r) => setImmediate(r))
  let writes = 0
  let walking = true
  const seen: string[] = []
  const totals: number[] = []
  const reader = (async () => {
    let cursor: string | null = null
    let pages = 0
    try {
      do {
        const res = await owner.api.get(
          `/api/images?workspace_id=${ws.id}&limit=7${cursor ? `&after=${cursor}` : ''}`,
        )
        assert.equal(res.statusCode, 200, res.body)
        const body = json<PageBody>(res)
        seen.push(...body.data.map((i) => i.id))
        totals.push(body.pageInfo.total)
        cursor = body.pageInfo.hasNextPage ? body.pageInfo.endCursor : null
        pages += 1
        const target = writes + 3
        while (writes < target) await tick()
      } while (cursor)
    } finally {
      walking = false
    }
    return pages
  })()

  const inserted: string[] = []
  const inserter = (async () => {
    while (walking) {
      await tick()
      inserted.push((await newImage(t, ws.id)).id)
      await newImage(t, other.id)
      writes += 1
    }
  })()
  const deleter = (async () => {
    const queue = [...victims]
    let viaApi = true
    while (walking) {
      await tick()
      // Alternately the oldest and the newest victim: deletions land both ahead of and behind the reader.
      const id = queue.length > 0 ? (queue.length % 2 === 0 ? queue.shift() : queue.pop()) : inserted.shift()
      if (id === undefined) continue
      if (viaApi) {
        const res = await owner.api.del(`/api/images/${id}`)
        assert.equal(res.statusCode, 200, res.body)
      } else {
        assert.equal(await removeImage(t, id), true)
      }
      viaApi = !viaApi
      writes += 1
    }
  })()

  const pages = await reader
  await Promise.all([inserter, deleter])
  assert.ok(pages >= 6, `walked ${pages} pages`)
  assert.ok(writes >= pages * 3, `${writes} writes interleaved with ${pages} pages`)
  const victimsSeen = victims.filter((id) => seen.includes(id)).length
  assert.ok(
    victimsSeen > 0 && victimsSeen < victims.length,
    'deletions landed both behind and ahead of the reader',
  )
  assert.ok(totals.every((n) => Number.isInteger(n) && n >= 0))

  assert.equal(new Set(seen).size, seen.length, 'no image was seen twice')
  const missed = [...survivors].filter((id) => !seen.includes(id))
  assert.deepEqual(missed, [], 'every image that existed throughout was seen')
  assert.deepEqual(seen, [...seen].sort().reverse(), 'newest first throughout')

  for (const row of await countersVsRows(t))
    assert.equal(row.counter, row.rows, `counter of ${row.workspaceId}`)
  const rows = await t.c.db.selectFrom('images').select('id').where('workspace_id', '=', ws.id).execute()
  const total = json<PageBody>(await owner.api.get(`/api/images?workspace_id=${ws.id}&limit=1`)).pageInfo
    .total
  assert.equal(total, rows.length)
})

test('concurrent deletes of one image: one succeeds, the rest 404, the counter moves once', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  await newImage(t, ws.id)
  const img = await newImage(t, ws.id)
  const answers = await Promise.all(Array.from({ length: 6 }, () => owner.api.del(`/api/images/${img.id}`)))
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 404, 404, 404, 404, 404])
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', 'image.provider-delete')
    .execute()
  assert.equal(jobs.filter((j) => JSON.parse(j.payload).cfImageId === img.cf_image_id).length, 1)
  const total = json<PageBody>(await owner.api.get(`/api/images?workspace_id=${ws.id}`)).pageInfo.total
  assert.equal(total, 1)
  for (const row of await countersVsRows(t)) assert.equal(row.counter, row.rows)
})

test('concurrent provisioning requests for one file: one 202, the rest 409, one job', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const file = await newFile(t, ws.id, { status: 'deleted' })
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => owner.api.post('/api/images', { fileId: file.id })),
  )
  assert.deepEqual(answers.map((r) => r.statusCode).sort(), [202, 409, 409, 409, 409, 409])
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', 'image.provision')
    .execute()
  assert.equal(jobs.filter((j) => JSON.parse(j.payload).fileId === file.id).length, 1)
})
