import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { client } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

/**
 * The list contract against a model, through GET /api/tokens on the real
 * database: each run gets a fresh user whose token rows are inserted and
 * deleted between page requests, at random positions in the order.
 */

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

const RUNS = 20
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

/** A well-formed token id anywhere in the order, not only newest: keyset bounds must hold for any key. */
const anyId = fc
  .tuple(
    fc.integer({ min: 0, max: 7 }),
    fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 25, maxLength: 25 }),
  )
  .map(([head, tail]) => `tok_${head}${tail.map((i) => ALPHABET[i]).join('')}`)

const mutation = fc.record({
  inserts: fc.array(anyId, { maxLength: 3 }),
  deletes: fc.array(fc.nat(), { maxLength: 2 }),
})

interface PageInfo {
  total: number
  hasNextPage: boolean
  hasPreviousPage: boolean
  startCursor: string | null
  endCursor: string | null
}
interface Position {
  param: 'after' | 'before'
  cursor: string
  key: string
}

class Fixture {
  private constructor(
    readonly userId: string,
    readonly authTokenId: string,
    private readonly api: ReturnType<typeof client>,
  ) {}

  static async create(initial: string[]): Promise<Fixture> {
    const userId = `usr_${randomBytes(8).toString('hex')}`
    await t.c.db
      .insertInto('users')
      .values({
        id: userId,
        email: `${userId}@example.com`,
        name: null,
        role: 'member',
        created_at: new Date().toISOString(),
      })
      .execute()
    const auth = await t.c.tokens.mint(userId, 'auth')
    const f = new Fixture(userId, auth.id, client(t, auth.token))
    await f.mutate({ inserts: initial, deletes: [] })
    return f
  }

  /** The rows as the database holds them now, newest first as the contract orders them. */
  async rows(): Promise<string[]> {
    const rows = await t.c.db.selectFrom('tokens').select('id').where('user_id', '=', this.userId).execute()
    return rows.map((r) => r.id).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
  }

  async mutate(m: {
    inserts: string[]
    deletes: number[]
  }): Promise<{ inserted: string[]; deleted: string[] }> {
    const present = new Set(await this.rows())
    const inserted = [...new Set(m.inserts)].filter((id) => !present.has(id))
    for (const id of inserted) {
      await t.c.db
        .insertInto('tokens')
        .values({
          id,
          user_id: this.userId,
          name: 'p',
          hash: randomBytes(16).toString('hex'),
          created_at: new Date().toISOString(),
          expires_at: null,
        })
        .execute()
    }
    const deletable = (await this.rows()).filter((id) => id !== this.authTokenId)
    const deleted = [
      ...new Set(m.deletes.filter(() => deletable.length > 0).map((n) => deletable[n % deletable.length]!)),
    ]
    if (deleted.length > 0) await t.c.db.deleteFrom('tokens').where('id', 'in', deleted).execute()
    return { inserted, deleted }
  }

  async page(limit: number, at: Position | null): Promise<{ ids: string[]; pageInfo: PageInfo }> {
    const query = `limit=${limit}${at ? `&${at.param}=${encodeURIComponent(at.cursor)}` : ''}`
    const res = await this.api.get(`/api/tokens?${query}`)
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json() as { data: { id: string }[]; pageInfo: PageInfo }
    return { ids: body.data.map((r) => r.id), pageInfo: body.pageInfo }
  }
}

/** What the contract says the page must be, computed from the rows alone. */
function model(rows: string[], limit: number, at: Position | null) {
  if (at === null) return { ids: rows.slice(0, limit), hasNext: rows.length > limit, hasPrev: false }
  if (at.param === 'after') {
    const older = rows.filter((id) => id < at.key)
    return {
      ids: older.slice(0, limit),
      hasNext: older.length > limit,
      hasPrev: rows.some((id) => id >= at.key),
    }
  }
  const newer = rows.filter((id) => id > at.key)
  return {
    ids: newer.slice(Math.max(0, newer.length - limit)),
    hasNext: rows.some((id) => id <= at.key),
    hasPrev: newer.length > limit,
  }
}

async function checkPage(f: Fixture, limit: number, at: Position | null) {
  const rows = await f.rows()
  const got = await f.page(limit, at)
  const want = model(rows, limit, at)
  const where = `limit=${limit} ${at ? `${at.param} ${at.key}` : 'first page'} over ${rows.length} rows`
  assert.deepEqual(got.ids, want.ids, `rows: ${where}`)
  assert.equal(got.pageInfo.hasNextPage, want.hasNext, `hasNextPage: ${where}`)
  assert.equal(got.pageInfo.hasPreviousPage, want.hasPrev, `hasPreviousPage: ${where}`)
  assert.equal(got.pageInfo.total, rows.length, `total: ${where}`)
  if (got.ids.length === 0) {
    assert.equal(got.pageInfo.startCursor, null)
    assert.equal(got.pageInfo.endCursor, null)
  } else {
    assert.equal(typeof got.pageInfo.startCursor, 'string')
    assert.equal(typeof got.pageInfo.endCursor, 'string')
  }
  return got
}

test('random forward and backward steps match the model, rows changing between steps', async () => {
  const step = fc.record({
    dir: fc.constantFrom('next', 'next', 'prev', 'first'),
    limit: fc.integer({ min: 1, max: 6 }),
    mutation,
  })
  await fc.assert(
    fc.asyncProperty(
      fc.array(anyId, { maxLength: 14 }),
      fc.array(step, { minLength: 1, maxLength: 10 }),
      async (initial, steps) => {
        const f = await Fixture.create(initial)
        let at = null as Position | null
        let last = await checkPage(f, 3, null)
        for (const s of steps) {
          await f.mutate(s.mutation)
          // Follow the page's own cursors; from an empty page, step again from the cursor that was sent.
          if (s.dir === 'first') at = null
          else if (s.dir === 'next' && last.pageInfo.endCursor)
            at = { param: 'after', cursor: last.pageInfo.endCursor, key: last.ids.at(-1)! }
          else if (s.dir === 'prev' && last.pageInfo.startCursor)
            at = { param: 'before', cursor: last.pageInfo.startCursor, key: last.ids[0]! }
          else if (at) at = { ...at, param: s.dir === 'next' ? 'after' : 'before' }
          last = await checkPage(f, s.limit, at)
        }
      },
    ),
    { numRuns: RUNS },
  )
})

test('a forward walk visits every row that existed throughout exactly once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(anyId, { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(mutation, { maxLength: 8 }),
      async (initial, limit, mutations) => {
        const f = await Fixture.create(initial)
        const throughout = new Set(await f.rows())
        const seen: string[] = []
        let at = null as Position | null
        for (let i = 0; ; i++) {
          const p = await checkPage(f, limit, at)
          seen.push(...p.ids)
          if (!p.pageInfo.hasNextPage) break
          assert.ok(i < 100, 'the walk ends')
          at = { param: 'after', cursor: p.pageInfo.endCursor!, key: p.ids.at(-1)! }
          const { deleted } = await f.mutate(mutations[i] ?? { inserts: [], deletes: [] })
          for (const id of deleted) throughout.delete(id)
        }
        assert.equal(new Set(seen).size, seen.length, `no row repeated: ${seen.join(' ')}`)
        const missed = [...throughout].filter((id) => !seen.includes(id))
        assert.deepEqual(missed, [], 'no row that existed throughout is skipped')
      },
    ),
    { numRuns: RUNS },
  )
})
