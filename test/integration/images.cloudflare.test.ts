import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { sweep } from '../../src/features/images/sweep.js'
import { CloudflareImageProvider } from '../../src/platform/image-provider/cloudflare-image-provider.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { newId } from '../../src/shared/ids.js'
import { createLogger } from '../../src/shared/logger.js'
import { seedBlob } from '../contract/image-provider.contract.js'
import { CloudflareDouble } from '../doubles/cloudflare-double.js'
import { newFile, newUser, newWorkspace, settled, upload } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { landscape, smallJpeg } from '../support/images.js'
import { until } from '../support/until.js'

/** IMAGE_PROVIDER=cloudflare end to end: the API, the worker and the sweep, against the local double. */
describe('IMAGE_PROVIDER=cloudflare', () => {
  let cf: CloudflareDouble
  let t: TestEnv
  let worker: Worker
  let owner: Awaited<ReturnType<typeof newUser>>
  let ws: { id: string }
  before(async () => {
    cf = await CloudflareDouble.start()
    t = await createTestEnv(cf.env())
    worker = new Worker(t.c, { pollMs: 20, backoffMs: 50 }).start()
    owner = await newUser(t)
    ws = await newWorkspace(owner)
  })
  after(async () => {
    await worker.stop()
    await t.close()
    await cf.close()
  })

  it('provisions an upload to Cloudflare and serves its imagedelivery.net URL', async () => {
    assert.ok(t.c.provider instanceof CloudflareImageProvider)
    const bytes = await landscape(6)
    const file = await upload(owner.api, ws.id, bytes, 'landscape.jpg')
    const [row] = await settled(t, [file.id])
    assert.equal(row!.image_status, 'ready', row!.image_error ?? '')
    const image = (await owner.api.get(`/api/images/${row!.image_id}`)).json() as Record<string, unknown>
    assert.equal(image.url, `https://imagedelivery.net/${cf.accountHash}/${image.cfImageId}/public`)
    const copy = cf.images.get(String(image.cfImageId))
    assert.ok(copy, 'the double holds the copy')
    assert.deepEqual(copy.meta, { imageId: image.id, fileId: file.id, workspaceId: ws.id })
    assert.ok(copy.bytes.equals(bytes), 'the original bytes went up')
    assert.deepEqual([image.width, image.height], [600, 450], 'dimensions come from the bytes, oriented')
  })

  it('removes the Cloudflare copy when the image is deleted', async () => {
    const bytes = await smallJpeg()
    const file = await upload(owner.api, ws.id, bytes, 'small.jpg')
    const [row] = await settled(t, [file.id])
    const image = (await owner.api.get(`/api/images/${row!.image_id}`)).json() as { cfImageId: string }
    assert.ok(cf.images.has(image.cfImageId))
    assert.equal((await owner.api.del(`/api/images/${row!.image_id}`)).statusCode, 200)
    await until(async () => !cf.images.has(image.cfImageId), { what: 'the provider delete' })
  })

  it('fails a file over Cloudflare limits with a clear reason, without calling Cloudflare', async () => {
    const before = cf.requests.length
    const wide = await sharp({ create: { width: 12_001, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer()
    const file = await upload(owner.api, ws.id, wide, 'wide.png')
    const [row] = await settled(t, [file.id])
    assert.equal(row!.image_status, 'failed')
    assert.match(row!.image_error ?? '', /12001x8 px; Cloudflare Images accepts at most 12000 px a side/)
    const shown = (await owner.api.get(`/api/files/${file.id}`)).json() as { image: { error: string } }
    assert.equal(shown.image.error, row!.image_error)
    assert.equal(cf.requests.length, before)
  })

  it('sweep removes only copies that lost their row, sparing recent, pending and foreign ones', async () => {
    const provider = t.c.provider as CloudflareImageProvider
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } })
      .png()
      .toBuffer()
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString()
    const age = (id: string) => {
      cf.images.get(id)!.uploaded = old
      return id
    }
    const [live] = await settled(t, [(await upload(owner.api, ws.id, png, 'live.png')).id])
    const liveCopy = (
      await t.c.db
        .selectFrom('images')
        .select('cf_image_id')
        .where('id', '=', live!.image_id!)
        .executeTakeFirstOrThrow()
    ).cf_image_id
    age(liveCopy)
    const orphan = age((await provider.upload(await seedBlob(t.c.blobs, png, 'image/png'))).cfImageId)
    const recent = (await provider.upload(await seedBlob(t.c.blobs, png, 'image/png'))).cfImageId
    const pendingFile = await newFile(t, ws.id, { status: 'pending', mime: 'image/png' })
    const pending = age(
      (await provider.upload(await seedBlob(t.c.blobs, png, 'image/png', { fileId: pendingFile.id })))
        .cfImageId,
    )
    const foreign = cf.plant({ meta: { imageId: newId('img') }, uploaded: old }).id
    const log = createLogger('silent')

    const dry = await sweep({ db: t.c.db, provider, log, dryRun: true })
    assert.equal(dry.removed, 1)
    assert.ok(cf.images.has(orphan), 'a dry run removes nothing')

    const deletesBefore = cf.count('DELETE')
    const result = await sweep({ db: t.c.db, provider, log })
    assert.deepEqual(
      { removed: result.removed, spared: result.spared, foreign: result.foreign, failed: result.failed },
      { removed: 1, spared: 2, foreign: 1, failed: 0 },
    )
    assert.equal(cf.count('DELETE') - deletesBefore, 1)
    assert.equal(cf.images.has(orphan), false, 'the orphan is gone')
    for (const kept of [liveCopy, recent, pending, foreign]) assert.ok(cf.images.has(kept), `${kept} stays`)
    const served = (await owner.api.get(`/api/images/${live!.image_id}`)).statusCode
    assert.equal(served, 200, 'the live image is untouched')
  })

  it('`pictura sweep` runs the sweep from the command line and says what it did', async () => {
    const provider = t.c.provider as CloudflareImageProvider
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#321' } })
      .png()
      .toBuffer()
    const orphan = (await provider.upload(await seedBlob(t.c.blobs, png, 'image/png'))).cfImageId
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(NODE_TEST_CONTEXT|DATABASE_URL|DATA_DIR|CF_.*)$/.test(k),
      ),
    )
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'sweep', '--min-age-minutes=0'],
      {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { ...inherited, ...t.env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    const [code] = await once(child, 'exit')
    assert.equal(code, 0, out)
    // With no minimum age, the recent orphan the test above spared goes too.
    assert.match(
      out,
      /^Swept \d+ provider copies: 2 live, 1 not ours \(left alone\), .* removed 2 orphans\.$/m,
    )
    assert.equal(cf.images.has(orphan), false)
    const rows = await t.c.db.selectFrom('images').select('cf_image_id').execute()
    for (const row of rows) assert.ok(cf.images.has(row.cf_image_id), 'every live image keeps its copy')
  })
})
