import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { AppError } from '../../src/shared/errors.js'
import {
  blobFiles,
  client,
  type FileBody,
  fileRows,
  newImage,
  newUser,
  newWorkspace,
  runJobs,
  uploadRaw,
} from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { samplePng, smallJpeg } from '../support/images.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

test('lists: newest first, workspace and mime filters, exact totals, paging both ways', async () => {
  const u = await newUser(t)
  const other = await newUser(t)
  const ws = await newWorkspace(u)
  const ws2 = await newWorkspace(u)
  const foreign = await newWorkspace(other)
  const png = await samplePng('bilevel')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const data = i % 2 === 0 ? png : `text ${i}`
    ids.push(((await uploadRaw(t, u.token, ws.id, data, { name: `f${i}` })).json() as FileBody).id)
  }
  const inWs2 = ((await uploadRaw(t, u.token, ws2.id, png)).json() as FileBody).id
  const foreignId = ((await uploadRaw(t, other.token, foreign.id, png)).json() as FileBody).id

  const list = async (query: string) => {
    const res = await u.api.get(`/api/files?${query}`)
    assert.equal(res.statusCode, 200, res.body)
    return res.json() as { data: FileBody[]; pageInfo: Record<string, unknown> }
  }
  const one = await list(`workspace_id=${ws.id}`)
  assert.deepEqual(
    one.data.map((f) => f.id),
    [...ids].reverse(),
  )
  assert.equal(one.pageInfo.total, 5)
  assert.deepEqual(one.data[0], (await u.api.get(`/api/files/${ids[4]}`)).json())

  const images = await list(`workspace_id=${ws.id}&mime=image/`)
  assert.deepEqual(
    images.data.map((f) => f.id),
    [ids[4], ids[2], ids[0]],
  )
  assert.equal(images.pageInfo.total, 3)
  assert.equal((await list(`workspace_id=${ws.id}&mime=IMAGE/PNG`)).pageInfo.total, 3)
  assert.equal((await list(`workspace_id=${ws.id}&mime=video/`)).pageInfo.total, 0)

  const all = await list('')
  assert.deepEqual(
    all.data.map((f) => f.id),
    [inWs2, ...[...ids].reverse()],
  )
  assert.equal(all.pageInfo.total, 6)
  assert.ok(!all.data.some((f) => f.id === foreignId))
  assert.equal((await list('mime=image/')).pageInfo.total, 4)

  const picked = await list(`ids=${ids[1]},${foreignId},${ids[3]},nonsense`)
  assert.deepEqual(
    picked.data.map((f) => f.id),
    [ids[3], ids[1]],
  )
  assert.equal(picked.pageInfo.total, 2)

  const seen: string[] = []
  let page = await list(`workspace_id=${ws.id}&limit=2`)
  seen.push(...page.data.map((f) => f.id))
  while (page.pageInfo.hasNextPage) {
    page = await list(`workspace_id=${ws.id}&limit=2&after=${page.pageInfo.endCursor}`)
    seen.push(...page.data.map((f) => f.id))
    assert.equal(page.pageInfo.hasPreviousPage, true)
  }
  assert.deepEqual(seen, [...ids].reverse())
  const back = await list(`workspace_id=${ws.id}&limit=2&before=${page.pageInfo.startCursor}`)
  assert.deepEqual(
    back.data.map((f) => f.id),
    [ids[2], ids[1]],
  )

  const admin = client(t, t.adminToken)
  const adminList = (await admin.get('/api/files?limit=100')).json() as { data: FileBody[] }
  assert.ok(adminList.data.some((f) => f.id === foreignId))
  assert.ok(adminList.data.some((f) => f.id === inWs2))
})

test('delete removes the row, the image and, through the queued job, the bytes', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const jpeg = await smallJpeg()
  const file = (await uploadRaw(t, u.token, ws.id, jpeg)).json() as FileBody
  const image = await newImage(t, ws.id, { fileId: file.id })
  const key = `${ws.id}/${file.id}`
  assert.ok(blobFiles(t).includes(key))

  const res = await u.api.del(`/api/files/${file.id}`)
  assert.equal(res.statusCode, 200, res.body)
  assert.deepEqual(res.json(), { success: true })
  assert.equal((await u.api.get(`/api/files/${file.id}`)).statusCode, 404)
  assert.equal((await u.api.get(`/api/files/${file.id}/content`)).statusCode, 404)
  assert.equal((await u.api.get(`/api/images/${image.id}`)).statusCode, 404)
  assert.equal((await u.api.get(`/api/files?workspace_id=${ws.id}`)).json().pageInfo.total, 0)
  const counters = await t.c.db
    .selectFrom('workspace_counters')
    .selectAll()
    .where('workspace_id', '=', ws.id)
    .executeTakeFirstOrThrow()
  assert.deepEqual([Number(counters.files), Number(counters.images)], [0, 0])

  const providerJobs = await t.c.db
    .selectFrom('jobs')
    .select('payload')
    .where('kind', '=', JobKinds.providerDelete)
    .execute()
  assert.ok(
    providerJobs.some((j) => JSON.parse(j.payload).cfImageId === image.cf_image_id),
    'the provider copy is queued for deletion',
  )
  await runJobs(t, JobKinds.blobDelete)
  assert.ok(!blobFiles(t).includes(key), 'the bytes are gone')
  assert.equal((await u.api.del(`/api/files/${file.id}`)).statusCode, 404)
})

test("deleting a workspace purges its files, images and bytes, and nobody else's", async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const keep = await newWorkspace(u)
  const png = await samplePng('bilevel')
  const a = (await uploadRaw(t, u.token, ws.id, png)).json() as FileBody
  await uploadRaw(t, u.token, ws.id, 'plain text')
  const image = await newImage(t, ws.id, { fileId: a.id })
  const kept = (await uploadRaw(t, u.token, keep.id, png)).json() as FileBody

  assert.equal((await u.api.del(`/api/workspaces/${ws.id}`)).statusCode, 200)
  assert.equal((await fileRows(t, ws.id)).length, 0)
  const images = await t.c.db.selectFrom('images').select('id').where('workspace_id', '=', ws.id).execute()
  assert.equal(images.length, 0)
  assert.equal((await u.api.get(`/api/files/${a.id}`)).statusCode, 404)
  const jobs = await t.c.db.selectFrom('jobs').select(['kind', 'payload']).execute()
  assert.ok(jobs.some((j) => j.kind === JobKinds.blobDelete && JSON.parse(j.payload).prefix === `${ws.id}/`))
  assert.ok(
    jobs.some(
      (j) => j.kind === JobKinds.providerDelete && JSON.parse(j.payload).cfImageId === image.cf_image_id,
    ),
  )

  await runJobs(t, JobKinds.blobDelete)
  assert.ok(!blobFiles(t).some((f) => f.startsWith(`${ws.id}/`)))
  assert.ok(blobFiles(t).includes(`${keep.id}/${kept.id}`))
  assert.equal((await u.api.get(`/api/files/${kept.id}/content`)).statusCode, 200)
})

test('an upload whose workspace is deleted while its bytes stream in keeps nothing', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const png = await samplePng('bilevel')
  const ctx = { principal: { userId: u.id, role: 'member' as const, tokenId: 'tok_test' }, requestId: 'race' }
  // The body opens after the access check: delete the workspace right there, as a concurrent request would.
  const upload = t.c.files.upload(ctx, { workspaceId: ws.id }, async () => {
    await t.c.workspaces.delete(ctx, ws.id)
    return { stream: Readable.from([png]) }
  })
  await assert.rejects(upload, (err: unknown) => err instanceof AppError && err.code === 'not_found')
  assert.equal((await fileRows(t, ws.id)).length, 0)
  assert.ok(!blobFiles(t).some((f) => f.startsWith(`${ws.id}/`)), 'the streamed blob was removed')
})
