import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import sharp from 'sharp'
import { deliveryUrl } from '../../src/platform/image-provider/image-provider.js'
import { PermanentJobError } from '../../src/platform/jobs/job-queue.js'
import { imageProviderContract } from '../contract/image-provider.contract.js'
import { type CloudflareUnderTest, cloudflareUnderTest } from '../doubles/cloudflare-setup.js'

imageProviderContract('cloudflare (local double)', () => cloudflareUnderTest(), { lists: true })

const UPLOAD = /^\/v1$/
const png = (width = 64, height = 48) =>
  sharp({ create: { width, height, channels: 3, background: '#cc6633' } })
    .png()
    .toBuffer()

describe('Cloudflare adapter: what goes over the wire', () => {
  let cf: CloudflareUnderTest
  beforeEach(async () => {
    await cf?.close()
    cf = await cloudflareUnderTest()
  })
  after(() => cf.close())

  it('uploads the file with our ids as metadata, under its custom id, and delivers from imagedelivery.net', async () => {
    const input = await cf.seed(await png(), 'image/png')
    const { cfImageId } = await cf.provider.upload(input)
    const stored = cf.double.images.get(cfImageId)
    assert.ok(stored, 'the double holds the copy under the returned id')
    assert.deepEqual(stored.meta, {
      imageId: input.imageId,
      fileId: input.fileId,
      workspaceId: input.workspaceId,
    })
    assert.equal(stored.mime, 'image/png')
    assert.equal(stored.bytes.length, input.size)
    assert.equal(stored.requireSignedURLs, false)
    assert.equal(
      deliveryUrl(cf.provider, cfImageId, 'public'),
      `https://imagedelivery.net/${cf.double.accountHash}/${cfImageId}/public`,
    )
  })

  it('retries a 503 and provisions once', async () => {
    cf.double.failNext({ status: 503, method: 'POST', path: UPLOAD })
    await cf.provider.upload(await cf.seed(await png(), 'image/png'))
    assert.equal(cf.double.images.size, 1)
    assert.equal(cf.double.count('POST', UPLOAD), 2)
  })

  it('keeps one copy when the upload landed but its reply was lost (409 on the retry, then a look-up)', async () => {
    cf.double.failNext({ status: 502, method: 'POST', path: UPLOAD, afterApply: true })
    const input = await cf.seed(await png(), 'image/png')
    const { cfImageId } = await cf.provider.upload(input)
    assert.equal(cf.double.images.size, 1)
    assert.equal(cf.double.images.get(cfImageId)?.meta.imageId, input.imageId)
    assert.deepEqual(
      cf.double.requests.map((r) => [r.method, r.status]),
      [
        ['POST', 502],
        ['POST', 409],
        ['GET', 200],
      ],
    )
  })

  it('retries a dropped connection', async () => {
    cf.double.failNext({ network: true, method: 'POST' })
    await cf.provider.upload(await cf.seed(await png(), 'image/png'))
    assert.equal(cf.double.images.size, 1)
  })

  it('waits for Retry-After on a 429, then succeeds', async () => {
    cf.double.failNext({ status: 429, retryAfter: 1, method: 'POST' })
    const started = Date.now()
    await cf.provider.upload(await cf.seed(await png(), 'image/png'))
    const waited = Date.now() - started
    assert.ok(waited >= 950, `waited only ${waited} ms`)
    assert.equal(cf.double.count('POST', UPLOAD), 2)
    assert.equal(cf.double.images.size, 1)
  })

  it('does not sit out a long Retry-After in-process: the job backs off instead (transient, not permanent)', async () => {
    cf.double.failNext({ status: 429, retryAfter: 300, method: 'POST' })
    const err = await cf.provider.upload(await cf.seed(await png(), 'image/png')).catch((e: unknown) => e)
    assert.ok(err instanceof Error && !(err instanceof PermanentJobError), String(err))
    assert.match(err.message, /429/)
    assert.equal(cf.double.count('POST', UPLOAD), 1)
  })

  it('gives up after the bounded attempts on a lasting outage, as a retryable error', async () => {
    cf.double.failNext({ status: 500, times: 10, method: 'POST' })
    const err = await cf.provider.upload(await cf.seed(await png(), 'image/png')).catch((e: unknown) => e)
    assert.ok(err instanceof Error && !(err instanceof PermanentJobError), String(err))
    assert.equal(cf.double.count('POST', UPLOAD), 4)
    assert.equal(cf.double.images.size, 0)
  })

  it('fails a 400 at once, permanently, with the provider message', async () => {
    cf.double.failNext({ status: 400, code: 5400, message: 'Bad request: image is corrupt', method: 'POST' })
    const err = await cf.provider.upload(await cf.seed(await png(), 'image/png')).catch((e: unknown) => e)
    assert.ok(err instanceof PermanentJobError, String(err))
    assert.match(err.message, /image is corrupt/)
    assert.equal(cf.double.requests.length, 1)
  })

  it('treats HTTP 200 with success:false as a failure', async () => {
    cf.double.failNext({ status: 200, code: 5550, message: 'Upload was not stored', method: 'POST' })
    const err = await cf.provider.upload(await cf.seed(await png(), 'image/png')).catch((e: unknown) => e)
    assert.ok(err instanceof Error, 'the upload must not count as done')
    assert.match(err.message, /without success.*Upload was not stored/)
    assert.equal(cf.double.requests.length, 1)
  })

  it('fails on a rejected token with the provider message, without retrying', async () => {
    const wrong = await cloudflareUnderTest({ apiToken: 'not-the-token' })
    try {
      const err = await wrong.provider
        .upload(await wrong.seed(await png(), 'image/png'))
        .catch((e: unknown) => e)
      assert.ok(err instanceof PermanentJobError, String(err))
      assert.match(err.message, /403.*Authentication error/)
      assert.equal(wrong.double.requests.length, 1)
    } finally {
      await wrong.close()
    }
  })

  it('counts a delete of an absent copy as done, and retries a 5xx delete', async () => {
    const { cfImageId } = await cf.provider.upload(await cf.seed(await png(), 'image/png'))
    cf.double.failNext({ status: 503, method: 'DELETE' })
    await cf.provider.delete(cfImageId)
    assert.equal(cf.double.images.size, 0)
    await cf.provider.delete(cfImageId)
    assert.deepEqual(
      cf.double.requests.filter((r) => r.method === 'DELETE').map((r) => r.status),
      [503, 200, 404],
    )
  })

  it('walks every list page by continuation token and reads `metadata` as well as `meta`', async () => {
    const small = await cloudflareUnderTest({ double: { pageCap: 10, metaField: 'metadata' } })
    try {
      const bytes = await png(8, 8)
      const uploads = []
      for (let i = 0; i < 25; i++) uploads.push(await small.seed(bytes, 'image/png'))
      const ids = []
      for (const input of uploads) ids.push((await small.provider.upload(input)).cfImageId)
      small.double.plant({ meta: { imageId: uploads[0]!.imageId } })
      const listed = []
      for await (const copy of small.provider.list()) listed.push(copy)
      assert.equal(listed.length, 26)
      assert.equal(small.double.count('GET', /^\/v2\?/), 3)
      assert.deepEqual(
        listed.filter((c) => c.imageId !== null).map((c) => c.cfImageId),
        ids,
        'our copies, each once, in upload order',
      )
      assert.equal(
        listed.filter((c) => c.imageId === null).length,
        1,
        'a copy claiming our id without our key is foreign',
      )
    } finally {
      await small.close()
    }
  })
})

describe("Cloudflare adapter: Cloudflare's limits are checked before any request", () => {
  let cf: CloudflareUnderTest
  before(async () => {
    cf = await cloudflareUnderTest()
  })
  after(() => cf.close())

  const refused = async (bytes: Buffer, mime: string, reason: RegExp) => {
    const err = await cf.provider.upload(await cf.seed(bytes, mime)).catch((e: unknown) => e)
    assert.ok(err instanceof PermanentJobError, String(err))
    assert.match(err.message, reason)
    assert.equal(cf.double.requests.length, 0, 'nothing reached Cloudflare')
  }

  it('refuses a file over 10 MB', async () => {
    // Stored without compression: 2200x2000 RGB is 12.6 MB of real, decodable PNG.
    const big = await sharp({ create: { width: 2200, height: 2000, channels: 3, background: '#808080' } })
      .png({ compressionLevel: 0 })
      .toBuffer()
    assert.ok(big.length > 10 * 1024 * 1024)
    await refused(big, 'image/png', /1\d\.\d MB; Cloudflare Images accepts at most 10\.0 MB/)
  })

  it('refuses a side over 12,000 px', async () => {
    await refused(await png(12_001, 8), 'image/png', /12001x8 px; .* at most 12000 px a side/)
  })

  it('refuses a format Cloudflare does not take (TIFF)', async () => {
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .tiff()
      .toBuffer()
    await refused(tiff, 'image/tiff', /does not accept image\/tiff/)
  })

  it('refuses more than 100 megapixels', async () => {
    const input = await cf.seed(await png(8, 8), 'image/png')
    const err = await cf.provider.upload({ ...input, width: 10_001, height: 10_000 }).catch((e: unknown) => e)
    assert.ok(err instanceof PermanentJobError)
    assert.match(
      err.message,
      /100,010,000 pixels; Cloudflare Images accepts at most 100,000,000 \(100 megapixels\)/,
    )
    assert.equal(cf.double.requests.length, 0)
  })
})
