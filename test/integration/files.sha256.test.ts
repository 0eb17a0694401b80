import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { sql } from 'kysely'
import { expectError } from '../expect.js'
import { addMember, client, type FileBody, newUser, newWorkspace, uploadRaw } from '../factories.js'
import { createTestEnv, DB_KIND, type TestEnv } from '../harness.js'

/** GET /api/files?sha256=: find files by content, inside the caller's scope, with the list contract. */

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

const hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

interface FilePage {
  data: FileBody[]
  pageInfo: { total: number; hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null }
}

async function upload(token: string, workspaceId: string, bytes: Buffer, name: string): Promise<FileBody> {
  const res = await uploadRaw(t, token, workspaceId, bytes, { name })
  assert.equal(res.statusCode, 201, res.body)
  return res.json() as FileBody
}

test('sha256 finds exactly the files with those bytes, newest first, with their total', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const same = randomBytes(3000)
  const other = randomBytes(3000)
  const first = await upload(u.token, ws.id, same, 'a.bin')
  await upload(u.token, ws.id, other, 'b.bin')
  const second = await upload(u.token, ws.id, same, 'c.bin')

  // Uploads never de-duplicate: two files, the same digest.
  assert.equal(first.sha256, hex(same))
  assert.notEqual(first.id, second.id)
  const res = await u.api.get(`/api/files?workspace_id=${ws.id}&sha256=${hex(same)}`)
  assert.equal(res.statusCode, 200, res.body)
  const page = res.json() as FilePage
  assert.deepEqual(
    page.data.map((f) => f.id),
    [second.id, first.id],
  )
  assert.equal(page.pageInfo.total, 2)

  // Either case of hex digits; nothing for bytes nobody uploaded.
  const upper = (await u.api.get(`/api/files?sha256=${hex(same).toUpperCase()}`)).json() as FilePage
  assert.deepEqual(
    upper.data.map((f) => f.name),
    ['c.bin', 'a.bin'],
  )
  const none = (await u.api.get(`/api/files?workspace_id=${ws.id}&sha256=${hex(randomBytes(8))}`)).json()
  assert.deepEqual(none, {
    data: [],
    pageInfo: { total: 0, hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
  })
})

test('the sha256 filter pages like any list and combines with mime and ids', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const bytes = Buffer.from('the same text, three times\n')
  const files = [
    await upload(u.token, ws.id, bytes, '1.txt'),
    await upload(u.token, ws.id, bytes, '2.txt'),
    await upload(u.token, ws.id, bytes, '3.txt'),
  ]
  const q = `workspace_id=${ws.id}&sha256=${hex(bytes)}`
  const p1 = (await u.api.get(`/api/files?${q}&limit=2`)).json() as FilePage
  assert.deepEqual(
    p1.data.map((f) => f.name),
    ['3.txt', '2.txt'],
  )
  assert.equal(p1.pageInfo.total, 3)
  assert.equal(p1.pageInfo.hasNextPage, true)
  const p2 = (await u.api.get(`/api/files?${q}&limit=2&after=${p1.pageInfo.endCursor}`)).json() as FilePage
  assert.deepEqual(
    p2.data.map((f) => f.name),
    ['1.txt'],
  )
  assert.equal(p2.pageInfo.total, 3)
  assert.equal(p2.pageInfo.hasNextPage, false)
  assert.equal(p2.pageInfo.hasPreviousPage, true)

  // Plain text sniffs as application/octet-stream (unknown content).
  const octets = (await u.api.get(`/api/files?${q}&mime=application/`)).json() as FilePage
  assert.equal(octets.pageInfo.total, 3)
  const image = (await u.api.get(`/api/files?${q}&mime=image/`)).json() as FilePage
  assert.equal(image.pageInfo.total, 0)
  const narrowed = (await u.api.get(`/api/files?${q}&ids=${files[0]!.id},${files[2]!.id}`)).json() as FilePage
  assert.deepEqual(
    narrowed.data.map((f) => f.name),
    ['3.txt', '1.txt'],
  )
  assert.equal(narrowed.pageInfo.total, 2)
})

test("a member finds only their own workspaces' files by content; an admin finds all", async () => {
  const alice = await newUser(t)
  const bob = await newUser(t)
  const wsA = await newWorkspace(alice, 'A')
  const wsB = await newWorkspace(bob, 'B')
  const bytes = randomBytes(5000)
  const inA = await upload(alice.token, wsA.id, bytes, 'alice.bin')
  const inB = await upload(bob.token, wsB.id, bytes, 'bob.bin')

  const bobs = (await bob.api.get(`/api/files?sha256=${hex(bytes)}`)).json() as FilePage
  assert.deepEqual(
    bobs.data.map((f) => f.id),
    [inB.id],
  )
  assert.equal(bobs.pageInfo.total, 1)
  // Naming a workspace Bob cannot see is 404, whatever it holds.
  expectError(await bob.api.get(`/api/files?workspace_id=${wsA.id}&sha256=${hex(bytes)}`), 404, 'not_found')

  // A viewer of A now finds Alice's copy as well.
  await addMember(t, wsA.id, bob.id, 'viewer')
  const both = (await bob.api.get(`/api/files?sha256=${hex(bytes)}`)).json() as FilePage
  assert.deepEqual(
    both.data.map((f) => f.id),
    [inB.id, inA.id],
  )

  const admin = client(t, t.adminToken)
  const all = (await admin.get(`/api/files?sha256=${hex(bytes)}`)).json() as FilePage
  assert.deepEqual(
    all.data.map((f) => f.id),
    [inB.id, inA.id],
  )
  assert.equal(all.pageInfo.total, 2)
})

test('a sha256 that is not 64 hex digits is 400 naming the parameter', async () => {
  const u = await newUser(t)
  for (const bad of ['abc', 'g'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(63)}%20`]) {
    expectError(await u.api.get(`/api/files?sha256=${bad}`), 400, 'invalid_request', 'sha256')
  }
})

test('the lookup reads the files_sha256 index in every scope, never the workspace', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const digest = hex(randomBytes(8))
  // The shapes GET /api/files?sha256= issues (see files.repository.ts): one workspace, a member's, all.
  const scopes = {
    workspace: sql`files.workspace_id = ${ws.id}`,
    member: sql`files.workspace_id in (select workspace_id from members where user_id = ${u.id})`,
    all: sql`1 = 1`,
  }
  for (const [scope, where] of Object.entries(scopes)) {
    const query = sql`select * from files where ${where} and files.sha256 = ${digest} order by files.id desc limit 101`
    const plan =
      DB_KIND === 'sqlite'
        ? JSON.stringify((await sql`explain query plan ${query}`.execute(t.c.db)).rows)
        : // A tiny table is cheaper to scan than to look up: ask whether the index serves the query at all.
          await t.c.db.transaction().execute(async (trx) => {
            await sql`set local enable_seqscan = off`.execute(trx)
            return JSON.stringify((await sql`explain ${query}`.execute(trx)).rows)
          })
    assert.match(plan, /files_sha256/, `${scope}: ${plan}`)
  }
})
