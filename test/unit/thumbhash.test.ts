import assert from 'node:assert/strict'
import { test } from 'node:test'
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash'
import { analyseImage } from '../../src/features/images/analyse.js'
import * as images from '../support/images.js'

const MAX_PIXELS = 100_000_000

const decode = (hash: string) => thumbHashToRGBA(Buffer.from(hash, 'base64'))

/** Mean absolute difference of two decoded placeholders of the same size, 0-255. */
function difference(a: ReturnType<typeof decode>, b: ReturnType<typeof decode>): number {
  assert.deepEqual([a.w, a.h], [b.w, b.h], 'same placeholder size')
  let sum = 0
  for (let i = 0; i < a.rgba.length; i++) sum += Math.abs((a.rgba[i] ?? 0) - (b.rgba[i] ?? 0))
  return sum / a.rgba.length
}

test('every EXIF orientation gives the placeholder of the upright image, on both decode paths', async () => {
  for (const [name, make] of [
    ['small JPEG path', (o: images.Orientation) => images.orientedJpeg(60, 40, o)],
    ['general path', (o: images.Orientation) => images.orientedJpeg(900, 600, o)],
  ] as const) {
    const upright = (await analyseImage(await make(1), MAX_PIXELS)).thumbhash
    assert.ok(upright, `${name}: a thumbhash`)
    assert.ok(thumbHashToApproximateAspectRatio(Buffer.from(upright, 'base64')) > 1.2, `${name}: landscape`)
    for (const o of [2, 3, 4, 5, 6, 7, 8] as const) {
      const hash = (await analyseImage(await make(o), MAX_PIXELS)).thumbhash
      assert.ok(hash, `${name}, orientation ${o}: a thumbhash`)
      const off = difference(decode(hash), decode(upright))
      assert.ok(off < 6, `${name}, orientation ${o}: placeholder off the upright one by ${off.toFixed(1)}`)
    }
  }
})

test('a placeholder differs between different pictures, and is made for PNG, WebP and greyscale too', async () => {
  const photo = (await analyseImage(await images.photo(), MAX_PIXELS)).thumbhash
  const flipped = (await analyseImage(await images.orientedJpeg(900, 600, 3), MAX_PIXELS)).thumbhash
  assert.ok(photo && flipped)
  for (const bytes of [await images.sampleWebp(), await images.paletteGif(), await images.faxTiff()]) {
    const hash = (await analyseImage(bytes, MAX_PIXELS)).thumbhash
    assert.ok(hash && Buffer.from(hash, 'base64').length >= 5, 'a thumbhash')
  }
  const upsideDown = await analyseImage(await images.orientedJpeg(900, 600, 1), MAX_PIXELS)
  // The same scene turned half a circle in its pixels (not by EXIF) is not the same placeholder.
  const turned = await analyseImage(
    await (await import('sharp'))
      .default(await images.orientedJpeg(900, 600, 1))
      .rotate(180)
      .jpeg()
      .toBuffer(),
    MAX_PIXELS,
  )
  assert.ok(upsideDown.thumbhash && turned.thumbhash)
  assert.ok(difference(decode(upsideDown.thumbhash), decode(turned.thumbhash)) > 10, 'turned pixels differ')
})
