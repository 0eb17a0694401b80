import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { addMember, client, json, newFile, newImage, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

type ListBody = { data: { id: string; workspaceId: string }[]; pageInfo: { total: number } }

/** Alice owns A (and views B); Bob owns B and C. */
async function world() {
  const alice = await newUser(t)
  const bob = await newUser(t)
  const wsA = await newWorkspace(alice, 'A')
  const wsB = await newWorkspace(bob, 'B')
  const wsC = await newWorkspace(bob, 'C')
  return { alice, bob, wsA, wsB, wsC }
}

const imageCount = async (id: string) =>
  (await t.c.db.selectFrom('images').select('id').where('id', '=', id).execute()).length
const counterOf = async (workspaceId: string) =>
  Number(
    (
      await t.c.db
        .selectFrom('workspace_counters')
        .select('images')
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirstOrThrow()
    ).images,
  )

test('a foreign image answers exactly as a missing one on every route', async () => {
  const { alice, wsC } = await world()
  const foreign = await newImage(t, wsC.id)
  const missingImg = 'img_01jdx3m2a4b6c8d0e2f4g6h8j0'
  const missingFil = 'fil_01jdx3k9z8y7x6w5v4t3s2r1q0'
  const pairs = [
    [await alice.api.get(`/api/images/${foreign.id}`), await alice.api.get(`/api/images/${missingImg}`)],
    [
      await alice.api.get(`/api/images/by-file/${foreign.file_id}`),
      await alice.api.get(`/api/images/by-file/${missingFil}`),
    ],
    [await alice.api.del(`/api/images/${foreign.id}`), await alice.api.del(`/api/images/${missingImg}`)],
    [
      await alice.api.post('/api/images', { fileId: foreign.file_id }),
      await alice.api.post('/api/images', { fileId: missingFil }),
    ],
  ]
  for (const [theirs, missing] of pairs) {
    assert.equal(theirs!.statusCode, 404)
    assert.equal(missing!.statusCode, 404)
    assert.equal(theirs!.body, missing!.body)
  }
  assert.equal(await imageCount(foreign.id), 1, 'nothing deleted')
})

test('a foreign workspace_id answers the same 404 as a missing workspace', async () => {
  const { alice, wsC } = await world()
  await newImage(t, wsC.id)
  const foreign = await alice.api.get(`/api/images?workspace_id=${wsC.id}`)
  const missing = await alice.api.get('/api/images?workspace_id=ws_01jdx3k6v8f2m9q4r7t5w0y1z2')
  assert.equal(foreign.statusCode, 404)
  assert.equal(foreign.body, missing.body)
  // Also with ids naming the foreign workspace's own images.
  const img = await newImage(t, wsC.id)
  const withIds = await alice.api.get(`/api/images?workspace_id=${wsC.id}&ids=${img.id}`)
  assert.equal(withIds.statusCode, 404)
})

test('ids mixing own, foreign, unknown and malformed ids returns only own rows, counted alone', async () => {
  const { alice, bob, wsA, wsB, wsC } = await world()
  await addMember(t, wsB.id, alice.id, 'viewer')
  const ownA = [await newImage(t, wsA.id), await newImage(t, wsA.id)]
  const viewB = await newImage(t, wsB.id)
  const foreignC = [await newImage(t, wsC.id), await newImage(t, wsC.id)]
  const ids = [
    ownA[0]!.id,
    foreignC[0]!.id,
    'img_01jdx3m2a4b6c8d0e2f4g6h8j0',
    viewB.id,
    'garbage',
    foreignC[1]!.id,
    ownA[1]!.file_id,
    ownA[1]!.id,
    '',
  ].join(',')

  const all = json<ListBody>(await alice.api.get(`/api/images?ids=${ids}`))
  assert.deepEqual(
    all.data.map((i) => i.id),
    [viewB.id, ownA[1]!.id, ownA[0]!.id],
  )
  assert.equal(all.pageInfo.total, 3)

  const inA = json<ListBody>(await alice.api.get(`/api/images?workspace_id=${wsA.id}&ids=${ids}`))
  assert.deepEqual(
    inA.data.map((i) => i.id),
    [ownA[1]!.id, ownA[0]!.id],
  )
  assert.equal(inA.pageInfo.total, 2)

  const onlyForeign = json<ListBody>(
    await alice.api.get(`/api/images?ids=${foreignC.map((i) => i.id).join(',')}`),
  )
  assert.deepEqual(onlyForeign.data, [])
  assert.equal(onlyForeign.pageInfo.total, 0)

  // Bob, for contrast, sees his own (B and C), never Alice's A.
  const bobs = json<ListBody>(await bob.api.get(`/api/images?ids=${ids}`))
  assert.deepEqual(
    bobs.data.map((i) => i.id),
    [foreignC[1]!.id, foreignC[0]!.id, viewB.id],
  )
  assert.equal(bobs.pageInfo.total, 3)
})

test('a member lists only their workspaces, with a total from those alone', async () => {
  const { alice, wsA, wsC } = await world()
  await newImage(t, wsA.id)
  await newImage(t, wsC.id)
  await newImage(t, wsC.id)
  const body = json<ListBody>(await alice.api.get('/api/images'))
  assert.ok(body.data.every((i) => i.workspaceId === wsA.id))
  assert.equal(body.pageInfo.total, body.data.length)
  assert.equal(body.pageInfo.total, await counterOf(wsA.id))
  // A user in no workspace sees nothing.
  const loner = await newUser(t)
  const empty = json<ListBody>(await loner.api.get('/api/images'))
  assert.deepEqual(empty.data, [])
  assert.equal(empty.pageInfo.total, 0)
})

test('a viewer reads but may not delete or provision: 403, and nothing changes', async () => {
  const { alice, bob, wsB } = await world()
  await addMember(t, wsB.id, alice.id, 'viewer')
  const img = await newImage(t, wsB.id)
  const failed = await newFile(t, wsB.id, { status: 'failed' })
  assert.equal((await alice.api.get(`/api/images/${img.id}`)).statusCode, 200)
  const before = await counterOf(wsB.id)

  const del = await alice.api.del(`/api/images/${img.id}`)
  assert.equal(del.statusCode, 403)
  assert.equal(json<{ error: { code: string } }>(del).error.code, 'forbidden')
  assert.equal(await imageCount(img.id), 1)
  assert.equal(await counterOf(wsB.id), before)

  const post = await alice.api.post('/api/images', { fileId: failed.id })
  assert.equal(post.statusCode, 403)
  const file = await t.c.db
    .selectFrom('files')
    .select('image_status')
    .where('id', '=', failed.id)
    .executeTakeFirst()
  assert.equal(file?.image_status, 'failed')

  // Promoted to editor, the same calls go through.
  await addMember(t, wsB.id, alice.id, 'editor')
  assert.equal((await alice.api.del(`/api/images/${img.id}`)).statusCode, 200)
  assert.equal((await alice.api.post('/api/images', { fileId: failed.id })).statusCode, 202)
  assert.equal(await counterOf(wsB.id), before - 1)
  assert.equal((await bob.api.get(`/api/images/${img.id}`)).statusCode, 404)
})

test('a non-member delete answers 404 and deletes nothing', async () => {
  const { alice, wsC } = await world()
  const img = await newImage(t, wsC.id)
  const before = await counterOf(wsC.id)
  const res = await alice.api.del(`/api/images/${img.id}`)
  assert.equal(res.statusCode, 404)
  assert.deepEqual(json(res), { error: { code: 'not_found', message: 'Image not found' } })
  assert.equal(await imageCount(img.id), 1)
  assert.equal(await counterOf(wsC.id), before)
  const jobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', 'image.provider-delete')
    .execute()
  assert.ok(
    !jobs.some((j) => JSON.parse(j.payload).cfImageId === img.cf_image_id),
    'no provider delete queued',
  )
})

test('a removed member loses access at once', async () => {
  const { alice, bob, wsB } = await world()
  await addMember(t, wsB.id, alice.id, 'editor')
  const img = await newImage(t, wsB.id)
  assert.equal((await alice.api.get(`/api/images/${img.id}`)).statusCode, 200)
  const removed = await bob.api.del(`/api/workspaces/${wsB.id}/members/${alice.id}`)
  assert.equal(removed.statusCode, 200, removed.body)
  assert.equal((await alice.api.get(`/api/images/${img.id}`)).statusCode, 404)
  assert.equal((await alice.api.get(`/api/images/by-file/${img.file_id}`)).statusCode, 404)
  assert.equal((await alice.api.del(`/api/images/${img.id}`)).statusCode, 404)
  assert.equal((await alice.api.get(`/api/images?workspace_id=${wsB.id}`)).statusCode, 404)
  assert.equal(await imageCount(img.id), 1)
})

test('an admin reads and deletes in any workspace', async () => {
  const admin = client(t, t.adminToken)
  const { wsC } = await world()
  const img = await newImage(t, wsC.id)
  assert.equal((await admin.get(`/api/images/${img.id}`)).statusCode, 200)
  assert.equal((await admin.get(`/api/images/by-file/${img.file_id}`)).statusCode, 200)
  assert.equal((await admin.del(`/api/images/${img.id}`)).statusCode, 200)
  assert.equal((await admin.post('/api/images', { fileId: img.file_id })).statusCode, 202)
})
