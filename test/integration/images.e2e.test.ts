import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { thumbHashToApproximateAspectRatio } from 'thumbhash'
import { JobKinds } from '../../src/platform/jobs/job-queue.js'
import { type ImageBody, json, newUser, newWorkspace, runJobs, settled, upload } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import * as images from '../support/images.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv({ PUBLIC_URL: 'https://pics.example.com' })
})
after(() => t.close())

const cdn = (url: string) => t.app.inject({ method: 'GET', url: new URL(url).pathname })

test('upload, provision, read, delete and provision again, end to end', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  // A 120x80 photo with camera and GPS tags; a portrait stored 600x450 with orientation 6.
  const gpsBytes = await images.gpsJpeg()
  const portraitBytes = await images.portrait(6)
  const gps = await upload(owner.api, ws.id, gpsBytes, 'GPS.jpg')
  const portrait = await upload(owner.api, ws.id, portraitBytes, 'Portrait_6.jpg')
  assert.equal(gps.image.status, 'pending')
  await runJobs(t, JobKinds.provision)
  await settled(t, [gps.id, portrait.id])

  const list = json<{ data: ImageBody[]; pageInfo: { total: number } }>(
    await owner.api.get(`/api/images?workspace_id=${ws.id}`),
  )
  assert.equal(list.pageInfo.total, 2)
  assert.deepEqual(
    list.data.map((i) => i.fileId),
    [portrait.id, gps.id],
    'newest first: images are provisioned in upload order',
  )

  const portraitImage = json<ImageBody>(await owner.api.get(`/api/images/by-file/${portrait.id}`))
  assert.deepEqual([portraitImage.width, portraitImage.height], [450, 600], 'orientation 6 applied')
  // The placeholder is of the upright image too: taller than wide.
  assert.ok(portraitImage.thumbhash, 'provisioning made a thumbhash')
  assert.ok(thumbHashToApproximateAspectRatio(Buffer.from(portraitImage.thumbhash, 'base64')) < 0.9)
  assert.equal(portraitImage.size, portraitBytes.length)

  const res = await owner.api.get(`/api/images/by-file/${gps.id}`)
  assert.equal(res.statusCode, 200, res.body)
  const image = json<ImageBody>(res)
  assert.deepEqual(json(await owner.api.get(`/api/images/${image.id}`)), image)
  assert.deepEqual(list.data[1], image)
  assert.equal(image.workspaceId, ws.id)
  assert.deepEqual([image.width, image.height, image.size], [120, 80, gpsBytes.length])
  assert.equal(typeof image.exif, 'object')
  assert.ok(Object.keys(image.exif).length > 0, 'the camera tags are there')
  assert.ok(!Object.keys(image.exif).some((k) => k.startsWith('GPS')), 'GPS stays private by default')
  assert.equal(image.url, `https://pics.example.com/cdn/${image.cfImageId}/public`)
  const delivered = await cdn(image.url)
  assert.equal(delivered.statusCode, 200)
  assert.match(delivered.headers['content-type'] as string, /^image\//)

  // Delete: the image goes, the file and its bytes stay, the provider's copy follows through its job.
  assert.deepEqual(json(await owner.api.del(`/api/images/${image.id}`)), { success: true })
  const file = json<{ image: unknown; size: number }>(await owner.api.get(`/api/files/${gps.id}`))
  assert.deepEqual(file.image, { status: 'deleted', id: null, error: null })
  const content = await owner.api.get(`/api/files/${gps.id}/content`)
  assert.equal(content.statusCode, 200)
  assert.ok(content.rawPayload.equals(gpsBytes))
  assert.equal(await runJobs(t, JobKinds.providerDelete), 1)
  assert.equal((await cdn(image.url)).statusCode, 404)
  assert.equal((await owner.api.get(`/api/images/by-file/${gps.id}`)).statusCode, 404)

  // Provision again: a new image with a new id and a new provider id; the old URL stays gone.
  const again = await owner.api.post('/api/images', { fileId: gps.id })
  assert.equal(again.statusCode, 202, again.body)
  assert.equal(json<{ image: { status: string } }>(again).image.status, 'pending')
  await runJobs(t, JobKinds.provision)
  await settled(t, [gps.id])
  const fresh = json<ImageBody>(await owner.api.get(`/api/images/by-file/${gps.id}`))
  assert.notEqual(fresh.id, image.id)
  assert.notEqual(fresh.cfImageId, image.cfImageId)
  assert.deepEqual([fresh.width, fresh.height], [120, 80])
  assert.equal((await cdn(fresh.url)).statusCode, 200)
  assert.equal((await cdn(image.url)).statusCode, 404)
  assert.equal((await owner.api.get(`/api/images/${image.id}`)).statusCode, 404)
  const after = json<{ pageInfo: { total: number } }>(
    await owner.api.get(`/api/images?workspace_id=${ws.id}`),
  )
  assert.equal(after.pageInfo.total, 2)
})
