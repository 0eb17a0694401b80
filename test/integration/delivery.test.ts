import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import sharp from 'sharp'
import {
  type Client,
  createWorkerEnv,
  type ImageBody,
  json,
  provisioned,
  settled,
  type WorkerEnv,
} from '../factories.js'
import type { TestEnv } from '../harness.js'
import { ANIMATION_FRAMES, animatedGif, landscape, photo, portrait } from '../support/images.js'

let t: TestEnv
let env: WorkerEnv
let api: Client
const images: Record<string, ImageBody> = {}

/** A delivery request as a browser makes it: no token, the URL is the capability. */
const cdn = (url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers })
const meta = (res: LightMyRequestResponse) => sharp(res.rawPayload).metadata()

before(async () => {
  env = await createWorkerEnv()
  ;({ t, api } = env)
  // A 2725x2225 photograph; a portrait stored 600x450 with orientation 6; one landscape scene
  // stored upright (orientation 1) and stored turned (orientation 6); a 10-frame GIF.
  images.photo = await provisioned(env, await photo(), 'photo.jpg')
  images.portrait6 = await provisioned(env, await portrait(6), 'Portrait_6.jpg')
  images.landscape1 = await provisioned(env, await landscape(1), 'Landscape_1.jpg')
  images.landscape6 = await provisioned(env, await landscape(6), 'Landscape_6.jpg')
  images.gif = await provisioned(env, await animatedGif(), 'animated.gif')
})
after(() => env.close())

describe('named variants', () => {
  test('the image url is the public variant: full size, long-lived, no token needed', async () => {
    const { cfImageId, url, width, height } = images.photo!
    assert.equal(new URL(url).pathname, `/cdn/${cfImageId}/public`)
    const res = await cdn(new URL(url).pathname)
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'image/jpeg')
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.match(String(res.headers.etag), /^"[0-9a-f]{32}"$/)
    assert.equal(Number(res.headers['content-length']), res.rawPayload.length)
    const m = await meta(res)
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', width, height])
  })

  test('thumbnail fits inside 320x320', async () => {
    const m = await meta(await cdn(`/cdn/${images.photo!.cfImageId}/thumbnail`))
    // 2725x2225 scaled to fit: 320 wide.
    assert.deepEqual([m.width, m.height], [320, 261])
  })

  test('an orientation-6 photo is delivered upright, looking like its orientation-1 twin', async () => {
    const p = await meta(await cdn(`/cdn/${images.portrait6!.cfImageId}/public`))
    assert.deepEqual([p.width, p.height], [450, 600], 'stored 600x450, delivered turned')
    assert.equal(p.orientation, undefined, 'no orientation tag left to apply twice')
    const grey = async (id: string) =>
      sharp((await cdn(`/cdn/${id}/w=120,h=90,fit=cover,format=png`)).rawPayload)
        .greyscale()
        .raw()
        .toBuffer()
    const [upright, turned] = await Promise.all([
      grey(images.landscape1!.cfImageId),
      grey(images.landscape6!.cfImageId),
    ])
    let diff = 0
    for (let i = 0; i < upright.length; i++) diff += Math.abs(upright[i]! - turned[i]!)
    assert.ok(diff / upright.length < 10, `mean pixel difference ${diff / upright.length}`)
  })

  test('an animated GIF delivers its first frame as a still PNG', async () => {
    const res = await cdn(`/cdn/${images.gif!.cfImageId}/public`)
    const m = await meta(res)
    assert.equal(m.format, 'png')
    assert.equal(m.pages, undefined)
    assert.deepEqual([m.width, m.height], [images.gif!.width, images.gif!.height])
    const pixel = await sharp(res.rawPayload).removeAlpha().raw().toBuffer()
    assert.deepEqual([...pixel.subarray(0, 3)], ANIMATION_FRAMES[0], 'the first frame’s colour')
  })
})

describe('flexible variants', () => {
  test('w=100,format=png answers a PNG 100 px wide', async () => {
    const res = await cdn(`/cdn/${images.photo!.cfImageId}/w=100,format=png`)
    assert.equal(res.headers['content-type'], 'image/png')
    const m = await meta(res)
    assert.deepEqual([m.format, m.width, m.height], ['png', 100, 82])
  })

  test('format=auto follows Accept (AVIF, then WebP, else the original) and says Vary: Accept', async () => {
    const url = `/cdn/${images.photo!.cfImageId}/w=200,format=auto`
    const avif = await cdn(url, { accept: 'image/avif,image/webp,image/*,*/*;q=0.8' })
    assert.equal(avif.headers['content-type'], 'image/avif')
    assert.match(String(avif.headers.vary), /Accept/)
    assert.equal((await meta(avif)).format, 'heif')
    const webp = await cdn(url, { accept: 'image/webp,*/*' })
    assert.equal(webp.headers['content-type'], 'image/webp')
    assert.equal((await meta(webp)).format, 'webp')
    const plain = await cdn(url, { accept: '*/*' })
    assert.equal(plain.headers['content-type'], 'image/jpeg')
    assert.notEqual(avif.headers.etag, webp.headers.etag)
    const fixed = await cdn(`/cdn/${images.photo!.cfImageId}/w=200,format=webp`)
    assert.doesNotMatch(String(fixed.headers.vary ?? ''), /Accept/, 'an explicit format does not vary')
  })

  test('fit: cover fills the box, pad letterboxes it, scale-down never enlarges, contain may', async () => {
    const id = images.photo!.cfImageId
    const size = async (options: string) => {
      const m = await meta(await cdn(`/cdn/${id}/${options}`))
      return [m.width, m.height]
    }
    assert.deepEqual(await size('w=200,h=200,fit=cover'), [200, 200])
    assert.deepEqual(await size('w=300,h=100,fit=pad'), [300, 100])
    assert.deepEqual(await size('w=200,h=200,fit=crop'), [200, 200])
    assert.deepEqual(await size('w=3000,h=100,fit=crop'), [2725, 100])
    assert.deepEqual(await size('w=3000,fit=scale-down'), [2725, 2225])
    assert.deepEqual(await size('w=3000,fit=contain'), [3000, 2450])
  })

  test('output is bounded to 4096 px a side, whatever is asked', async () => {
    const m = await meta(
      await cdn(`/cdn/${images.photo!.cfImageId}/w=9000,fit=contain,format=jpeg,quality=40`),
    )
    assert.deepEqual([m.width, m.height], [4096, 3344])
  })

  test('bad options answer 400 invalid_request', async () => {
    const id = images.photo!.cfImageId
    for (const variant of [
      'original',
      'w=abc',
      'w=0',
      'w=100.5',
      'w=-1',
      'w=12001',
      'fit=stretch',
      'format=gif',
      'quality=0',
      'quality=101',
      'blur=5',
      'w=100,w=200',
      'w=100,',
      'w',
    ]) {
      const res = await cdn(`/cdn/${id}/${variant}`)
      assert.equal(res.statusCode, 400, variant)
      assert.equal(res.json().error.code, 'invalid_request', variant)
    }
  })

  test('an unknown image answers 404, whatever its shape', async () => {
    for (const id of ['0123456789abcdef0123456789abcdef', 'nope', '..%2F..%2Fetc']) {
      const res = await cdn(`/cdn/${id}/public`)
      assert.equal(res.statusCode, 404, id)
      assert.equal(res.json().error.code, 'not_found')
    }
  })
})

describe('caching', () => {
  test('a repeated request is served from the cache; If-None-Match answers 304 without rendering', async () => {
    const url = `/cdn/${images.landscape1!.cfImageId}/w=150,format=webp,quality=70`
    const before = t.c.delivery.renders
    const first = await cdn(url)
    assert.equal(t.c.delivery.renders, before + 1)
    const second = await cdn(url)
    assert.equal(t.c.delivery.renders, before + 1, 'not rendered again')
    assert.deepEqual(second.rawPayload, first.rawPayload)
    assert.equal(second.headers.etag, first.headers.etag)
    // The same options spelled differently are the same variant.
    const alias = await cdn(`/cdn/${images.landscape1!.cfImageId}/quality=70,f=webp,width=150`)
    assert.equal(alias.headers.etag, first.headers.etag)
    assert.equal(t.c.delivery.renders, before + 1)
    const revalidated = await cdn(url, { 'if-none-match': String(first.headers.etag) })
    assert.equal(revalidated.statusCode, 304)
    assert.equal(revalidated.rawPayload.length, 0)
    assert.equal(revalidated.headers.etag, first.headers.etag)
    assert.equal(t.c.delivery.renders, before + 1)
  })

  test('identical concurrent requests share one render', async () => {
    const before = t.c.delivery.renders
    const url = `/cdn/${images.landscape1!.cfImageId}/w=77`
    const answers = await Promise.all(Array.from({ length: 5 }, () => cdn(url)))
    assert.ok(answers.every((a) => a.statusCode === 200))
    assert.equal(t.c.delivery.renders, before + 1)
  })
})

describe('deletion', () => {
  test('a deleted image’s URLs answer 404 at once, and its cached variants go', async () => {
    const image = await provisioned(env, await landscape(2), 'gone.jpg')
    assert.equal((await cdn(`/cdn/${image.cfImageId}/thumbnail`)).statusCode, 200)
    const folder = path.join(t.dataDir, 'cache', image.cfImageId)
    assert.ok(existsSync(folder))
    assert.equal((await api.del(`/api/images/${image.id}`)).statusCode, 200)
    for (const variant of ['public', 'thumbnail', 'w=10']) {
      assert.equal((await cdn(`/cdn/${image.cfImageId}/${variant}`)).statusCode, 404, variant)
    }
    const deadline = Date.now() + 5_000
    while (existsSync(folder) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.ok(!existsSync(folder), 'the provider delete job dropped the cache')
  })

  test('provisioning again gives a new image with a new cfImageId; the old URL stays 404', async () => {
    const image = await provisioned(env, await landscape(3), 'again.jpg')
    const fileId = json<{ fileId: string }>(await api.get(`/api/images/${image.id}`)).fileId
    assert.equal((await api.del(`/api/images/${image.id}`)).statusCode, 200)
    assert.equal((await api.post('/api/images', { fileId })).statusCode, 202)
    await settled(t, [fileId])
    const again = json<ImageBody>(await api.get(`/api/images/by-file/${fileId}`))
    assert.notEqual(again.id, image.id)
    assert.notEqual(again.cfImageId, image.cfImageId)
    assert.equal((await cdn(`/cdn/${again.cfImageId}/public`)).statusCode, 200)
    assert.equal((await cdn(`/cdn/${image.cfImageId}/public`)).statusCode, 404)
  })
})
