import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import SQLite from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { authenticator } from '../../src/features/auth/admission.js'
import { Access } from '../../src/features/workspaces/access.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { newId } from '../../src/shared/ids.js'
import { addMember, client, json, newImage, newUser, newWorkspace, settled, upload } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { landscape } from '../support/images.js'

/**
 * Tokens and roles are kept in memory between requests (ReadCache); these are
 * the ways they can change, each of which must hold on the very next request,
 * including a change written by another process on the same database.
 */
describe('auth and access caches honour every change at once', () => {
  let t: TestEnv
  before(async () => {
    t = await createTestEnv()
  })
  after(() => t.close())

  /** A statement run on a connection of its own, as another API node or `pictura worker` would. */
  async function elsewhere(text: string, params: string[]): Promise<void> {
    const { db } = t.c.config
    if (db.driver === 'sqlite') {
      const other = new SQLite(db.file)
      try {
        other.prepare(text.replace(/\$\d+/g, '?')).run(...params)
      } finally {
        other.close()
      }
      return
    }
    const other = new pg.Client({ connectionString: db.url })
    await other.connect()
    try {
      await other.query(text, params)
    } finally {
      await other.end()
    }
  }

  test('every table that authentication and access checks read moves the cache version', async () => {
    // Each table these reads name, recorded from the queries they build...
    const read = new Set<string>()
    const db = t.c.db.withPlugin({
      transformQuery: ({ node }) => {
        collectTables(node, read)
        return node
      },
      transformResult: async ({ result }) => result,
    })
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    const authenticate = authenticator({ db, clock: t.c.clock })
    const access = new Access(db)
    const admin = await authenticate(`Bearer ${t.adminToken}`)
    const member = await authenticate(`Bearer ${owner.token}`)
    for (const principal of [admin, member]) {
      const ctx = { principal, requestId: 'test' }
      await access.workspace(ctx, ws.id, 'viewer')
      await access.visibleWorkspaceIds(ctx)
    }
    assert.ok(read.has('tokens') && read.has('members'), [...read].join(', '))
    // ...must each carry the triggers that move read_version (see ReadCache).
    const watched = new Set(await triggeredTables())
    for (const table of read) assert.ok(watched.has(table), `${table} has no read_version trigger`)
  })

  async function triggeredTables(): Promise<string[]> {
    if (t.c.config.db.driver === 'sqlite') {
      const rows = await sql<{ name: string }>`select tbl_name as name from sqlite_master
        where type = 'trigger' and sql like '%read_version%'`.execute(t.c.db)
      return rows.rows.map((r) => r.name)
    }
    const rows = await sql<{
      name: string
    }>`select event_object_table as name from information_schema.triggers
      where trigger_schema = current_schema() and action_statement like '%bump_read_version%'`.execute(t.c.db)
    return rows.rows.map((r) => r.name)
  }

  test('uploads and their provisioning keep the cache; a write to a member empties it', async () => {
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    const worker = new Worker(t.c, { concurrency: 1 }).start()
    try {
      // Reads made by these requests are cached under the version seen now, which must stay current.
      const before = await t.c.database.version()
      const file = await upload(owner.api, ws.id, await landscape(2), 'a.jpg')
      const [row] = await settled(t, [file.id])
      assert.equal(row!.image_status, 'ready')
      assert.equal((await owner.api.get(`/api/images?workspace_id=${ws.id}`)).statusCode, 200)
      assert.equal(
        await t.c.database.version(),
        before,
        'the writes to files, images and jobs left the cache as it was',
      )
      const other = await newUser(t)
      await addMember(t, ws.id, other.id, 'viewer')
      assert.notEqual(await t.c.database.version(), before, 'the new member emptied the cache')
    } finally {
      await worker.stop()
    }
  })

  test('a token revoked by another process fails on the next request', async () => {
    const user = await newUser(t)
    const minted = json<{ id: string; token: string }>(await user.api.post('/api/tokens', { name: 'node b' }))
    const api = client(t, minted.token)
    for (let i = 0; i < 3; i++) assert.equal((await api.get('/api/me')).statusCode, 200)
    await elsewhere('delete from tokens where id = $1', [minted.id])
    assert.equal((await api.get('/api/me')).statusCode, 401)
    assert.equal((await user.api.get('/api/me')).statusCode, 200, 'the user’s other token still works')
  })

  test('a member removed by another process loses the workspace on the next request', async () => {
    const owner = await newUser(t)
    const viewer = await newUser(t)
    const ws = await newWorkspace(owner)
    await addMember(t, ws.id, viewer.id, 'viewer')
    for (let i = 0; i < 3; i++) {
      assert.equal((await viewer.api.get(`/api/images?workspace_id=${ws.id}`)).statusCode, 200)
      assert.equal((await viewer.api.get('/api/workspaces')).json().pageInfo.total, 1)
    }
    await elsewhere('delete from members where workspace_id = $1 and user_id = $2', [ws.id, viewer.id])
    assert.equal((await viewer.api.get(`/api/images?workspace_id=${ws.id}`)).statusCode, 404)
    assert.equal((await viewer.api.get('/api/workspaces')).json().pageInfo.total, 0)
  })

  test('a workspace deleted by another process is gone for an admin on the next request', async () => {
    const owner = await newUser(t)
    const ws = await newWorkspace(owner)
    const admin = client(t, t.adminToken)
    // An admin who is no member: the access check reads the workspace row itself, not a membership.
    for (let i = 0; i < 3; i++)
      assert.equal((await admin.get(`/api/images?workspace_id=${ws.id}`)).statusCode, 200)
    await elsewhere('delete from workspaces where id = $1', [ws.id])
    assert.equal((await admin.get(`/api/images?workspace_id=${ws.id}`)).statusCode, 404)
  })

  test('every image read honours a change made elsewhere on the very next request', async () => {
    const owner = await newUser(t)
    const viewer = await newUser(t)
    const ws = await newWorkspace(owner)
    const image = await newImage(t, ws.id)
    const reads = [
      `/api/images/${image.id}`,
      `/api/images/by-file/${image.file_id}`,
      `/api/images?workspace_id=${ws.id}`,
    ]
    const status = async (api: typeof owner.api) =>
      Promise.all(reads.map(async (p) => (await api.get(p)).statusCode))

    // Not a member yet, cached as such; then added elsewhere: seen at once, the list across workspaces too.
    assert.deepEqual(await status(viewer.api), [404, 404, 404])
    assert.equal(json<{ data: unknown[] }>(await viewer.api.get('/api/images')).data.length, 0)
    await elsewhere(
      `insert into members (id, workspace_id, user_id, role, created_at) values ($1, $2, $3, 'viewer', $4)`,
      [newId('mem'), ws.id, viewer.id, new Date().toISOString()],
    )
    assert.deepEqual(await status(viewer.api), [200, 200, 200])
    assert.equal(json<{ data: unknown[] }>(await viewer.api.get('/api/images')).data.length, 1)

    // Removed elsewhere: gone at once.
    await elsewhere('delete from members where workspace_id = $1 and user_id = $2', [ws.id, viewer.id])
    assert.deepEqual(await status(viewer.api), [404, 404, 404])
    assert.equal(json<{ data: unknown[] }>(await viewer.api.get('/api/images')).data.length, 0)

    // A token revoked elsewhere fails every read at once; the owner's other token still reads.
    const minted = json<{ id: string; token: string }>(
      await owner.api.post('/api/tokens', { name: 'node b' }),
    )
    const second = client(t, minted.token)
    assert.deepEqual(await status(second), [200, 200, 200])
    await elsewhere('delete from tokens where id = $1', [minted.id])
    assert.deepEqual(await status(second), [401, 401, 401])
    assert.deepEqual(await status(owner.api), [200, 200, 200])
  })

  test('a role lowered through the API binds on the next request', async () => {
    const owner = await newUser(t)
    const editor = await newUser(t)
    const ws = await newWorkspace(owner)
    await addMember(t, ws.id, editor.id, 'editor')
    const upload = () =>
      editor.api.post(`/api/files?workspace_id=${ws.id}`, 'hello', { 'content-type': 'text/plain' })
    assert.equal((await upload()).statusCode, 201)
    assert.equal(
      (await owner.api.put(`/api/workspaces/${ws.id}/members/${editor.id}`, { role: 'viewer' })).statusCode,
      200,
    )
    assert.equal((await upload()).statusCode, 403)
  })

  test('a deleted user’s token fails on the next request', async () => {
    const user = await newUser(t)
    assert.equal((await user.api.get('/api/me')).statusCode, 200)
    assert.equal((await client(t, t.adminToken).del(`/api/users/${user.id}`)).statusCode, 200)
    assert.equal((await user.api.get('/api/me')).statusCode, 401)
  })
})

/** The names of the tables a query's node tree refers to. */
function collectTables(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectTables(item, into)
    return
  }
  if (!node || typeof node !== 'object') return
  const n = node as { kind?: string; table?: { identifier?: { name?: string } } }
  if (n.kind === 'TableNode' && n.table?.identifier?.name) into.add(n.table.identifier.name)
  for (const value of Object.values(node)) collectTables(value, into)
}
