import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { prepared } from '../../src/platform/db/statements.js'
import { newUser, newWorkspace } from '../factories.js'
import { createTestEnv, DB_KIND, type TestEnv } from '../harness.js'

/**
 * prepared() compiles a query once per shape of its arguments and binds each
 * call's values into it: every shape must bind the right values, in and out of
 * a transaction, and a builder that alters a value must be refused.
 */
describe('prepared queries', () => {
  let t: TestEnv
  before(async () => {
    t = await createTestEnv()
  })
  after(() => t.close())

  const workspaces = prepared((db, a: { ids: readonly string[]; name?: string; newest: boolean }) => {
    let q = db.selectFrom('workspaces').select(['id', 'name']).where('id', 'in', a.ids)
    if (a.name !== undefined) q = q.where('name', '=', a.name)
    return q.orderBy('id', a.newest ? 'desc' : 'asc')
  })

  test('each shape binds its own values, and calls of one shape never see another call’s', async () => {
    const owner = await newUser(t)
    const made = []
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) made.push(await newWorkspace(owner, name))
    const [a, b, c, d] = made.map((w) => w.id) as [string, string, string, string]
    const names = async (args: Parameters<typeof workspaces>[1]) =>
      (await workspaces(t.c.db, args)).map((r) => r.name)

    assert.deepEqual(await names({ ids: [a, b], newest: false }), ['alpha', 'beta'])
    assert.deepEqual(
      await names({ ids: [c, d], newest: false }),
      ['gamma', 'delta'],
      'same shape, new values',
    )
    assert.deepEqual(await names({ ids: [a, b, c], newest: true }), ['gamma', 'beta', 'alpha'])
    assert.deepEqual(await names({ ids: [a, b, c], name: 'beta', newest: true }), ['beta'])
    assert.deepEqual(await names({ ids: [a, b, c], name: 'delta', newest: true }), [])
    assert.deepEqual(await names({ ids: [d], newest: false }), ['delta'])
    // Inside a transaction the same statement runs through it, and sees its uncommitted writes.
    await t.c.db.transaction().execute(async (trx) => {
      await trx.updateTable('workspaces').set({ name: 'renamed' }).where('id', '=', a).execute()
      assert.deepEqual(
        (await workspaces(trx, { ids: [a], newest: false })).map((r) => r.name),
        ['renamed'],
      )
      await trx.updateTable('workspaces').set({ name: 'alpha' }).where('id', '=', a).execute()
    })
  })

  test('a builder that computes with an argument is refused instead of binding a wrong value', async () => {
    const broken = prepared((db, name: string) =>
      db.selectFrom('workspaces').select('id').where('name', '=', `${name}%`),
    )
    await assert.rejects(async () => broken(t.c.db, 'alpha'), /an argument was altered/)
  })

  test('a builder that branches on a string value fails loudly instead of dropping what it would bind', async () => {
    // The branch sees a placeholder, never 'workspace': compiled as is it would lose its tenant filter.
    const scoped = prepared((db, scope: { kind: string; workspaceId: string }) => {
      let q = db.selectFrom('files').select('id')
      if (scope.kind === 'workspace') q = q.where('workspace_id', '=', scope.workspaceId)
      return q
    })
    await assert.rejects(
      async () => scoped(t.c.db, { kind: 'workspace', workspaceId: 'ws_00000000000000000000000000' }),
      /never bound/,
    )
  })

  if (DB_KIND === 'postgres')
    test('PostgreSQL connections plan a named statement once (generic plans) and keep the URL’s own options', async () => {
      // Custom plans page a workspace holding a tenth of the images through the id index with a filter.
      const { rows } = await sql<{ plan: string; path: string }>`
        select current_setting('plan_cache_mode') as plan, current_setting('search_path') as path`.execute(
        t.c.db,
      )
      assert.equal(rows[0]?.plan, 'force_generic_plan')
      assert.match(rows[0]?.path ?? '', /^t_[0-9a-f]{12}$/, 'the test URL’s search_path still applies')
    })
})
