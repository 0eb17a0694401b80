import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import { CloudflareDouble } from '../doubles/cloudflare-double.js'

/**
 * The double checked against /work/shared/CLOUDFLARE.md with plain fetch, so
 * the adapter's tests rest on a double that speaks the documented API, not one
 * shaped after the adapter.
 */
describe('Cloudflare Images double follows the written contract', () => {
  let cf: CloudflareDouble
  let png: Buffer
  before(async () => {
    cf = await CloudflareDouble.start()
    png = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#0a0' } })
      .png()
      .toBuffer()
  })
  after(() => cf.close())

  const call = async (method: string, path: string, body?: FormData, token = cf.token) => {
    const res = await fetch(`${cf.apiBase}/accounts/${cf.accountId}/images${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      body: body ?? null,
    })
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
  }
  const form = (fields: Record<string, string | Blob>) => {
    const f = new FormData()
    for (const [k, v] of Object.entries(fields)) f.set(k, v)
    return f
  }
  const file = (bytes: Buffer, type = 'image/png') => new Blob([new Uint8Array(bytes)], { type })

  it('uploads with a custom id and metadata, answering the envelope with the image object', async () => {
    const res = await call(
      'POST',
      '/v1',
      form({ file: file(png), id: 'a/b', metadata: '{"imageId":"img_1"}' }),
    )
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(res.body).sort(), ['errors', 'messages', 'result', 'result_info', 'success'])
    assert.equal(res.body.success, true)
    const result = res.body.result as Record<string, unknown>
    assert.equal(result.id, 'a/b')
    assert.deepEqual(result.meta, { imageId: 'img_1' })
    assert.equal(result.requireSignedURLs, false)
    assert.match(String(result.uploaded), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.deepEqual(result.variants, [`https://imagedelivery.net/${cf.accountHash}/a/b/public`])
    assert.equal(Object.hasOwn(result, 'width'), false, 'Cloudflare reports no dimensions')
  })

  it('answers 409 for a custom id already taken, and 404 with success:false for an unknown id', async () => {
    const dup = await call('POST', '/v1', form({ file: file(png), id: 'a/b' }))
    assert.equal(dup.status, 409)
    assert.equal(dup.body.success, false)
    const missing = await call('GET', '/v1/nope')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.success, false)
    assert.equal(missing.body.result, null)
    assert.deepEqual(missing.body.errors, [{ code: 5404, message: 'Image not found' }])
  })

  it('generates an id without one, gets and deletes by id (encoded), then forgets it', async () => {
    const up = await call('POST', '/v1', form({ file: file(png) }))
    const id = (up.body.result as { id: string }).id
    assert.match(id, /^[0-9a-f-]{36}$/)
    assert.equal((await call('GET', `/v1/${encodeURIComponent('a/b')}`)).status, 200)
    const del = await call('DELETE', `/v1/${id}`)
    assert.deepEqual([del.status, del.body.result], [200, {}])
    assert.equal((await call('DELETE', `/v1/${id}`)).status, 404)
  })

  it('refuses a bad token (403, code 10000), oversize (413), unsupported (415), bad metadata (400)', async () => {
    const denied = await call('GET', '/v1/stats', undefined, 'wrong')
    assert.deepEqual([denied.status, (denied.body.errors as { code: number }[])[0]!.code], [403, 10000])
    const big = Buffer.concat([png, Buffer.alloc(10 * 1024 * 1024)])
    assert.equal((await call('POST', '/v1', form({ file: file(big) }))).status, 413)
    const tall = await sharp({ create: { width: 4, height: 12_001, channels: 3, background: '#000' } })
      .png()
      .toBuffer()
    assert.equal((await call('POST', '/v1', form({ file: file(tall) }))).status, 413)
    const tiff = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .tiff()
      .toBuffer()
    assert.equal((await call('POST', '/v1', form({ file: file(tiff, 'image/tiff') }))).status, 415)
    const meta = await call('POST', '/v1', form({ file: file(png), metadata: `{"x":"${'a'.repeat(1100)}"}` }))
    assert.equal(meta.status, 400)
    assert.equal((await call('POST', '/v1', form({ file: file(png), metadata: 'not json' }))).status, 400)
    assert.equal((await call('POST', '/v1', form({ metadata: '{}' }))).status, 400, 'neither file nor url')
  })

  it('pages the v2 list with a continuation token until null, per_page 10-10000', async () => {
    for (let i = 0; i < 12; i++) cf.plant({ id: `list-${i}` })
    const seen: string[] = []
    let token: string | null = null
    do {
      const q: string = `per_page=10&sort_order=asc${token ? `&continuation_token=${token}` : ''}`
      const page = (await call('GET', `/v2?${q}`)).body.result as {
        images: { id: string }[]
        continuation_token: string | null
      }
      seen.push(...page.images.map((i) => i.id))
      token = page.continuation_token
    } while (token)
    assert.equal(seen.length, cf.images.size)
    assert.equal(new Set(seen).size, seen.length)
    assert.equal((await call('GET', '/v2?per_page=5')).status, 400)
  })

  it('injects failures: 429 with retry-after, 5xx, and HTTP 200 with success:false', async () => {
    cf.failNext({ status: 429, retryAfter: 7 })
    const limited = await call('GET', '/v1/stats')
    assert.deepEqual([limited.status, limited.headers.get('retry-after')], [429, '7'])
    cf.failNext({ status: 503, times: 2 })
    assert.equal((await call('GET', '/v1/stats')).status, 503)
    assert.equal((await call('GET', '/v1/stats')).status, 503)
    assert.equal((await call('GET', '/v1/stats')).status, 200)
    cf.failNext({ status: 200, message: 'odd' })
    const odd = await call('GET', '/v1/stats')
    assert.deepEqual([odd.status, odd.body.success], [200, false])
    assert.ok(cf.count('GET', /^\/v1\/stats$/) >= 6)
  })
})
