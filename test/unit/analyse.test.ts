import assert from 'node:assert/strict'
import { test } from 'node:test'
import sharp from 'sharp'
import { analyseAny, analyseImage, analyseSmallJpeg } from '../../src/features/images/analyse.js'
import * as images from '../support/images.js'

const MAX_PIXELS = 100_000_000

/** What an analysis comes to: its result, or the reason it refused the file. */
const outcome = (analysis: Promise<unknown>) =>
  analysis.then(
    (result) => ({ result }),
    (err: Error) => ({ refused: err.message }),
  )

test('a small JPEG takes one decode and measures as the general path measures it; others go the general way', async () => {
  const orientations = [1, 2, 3, 4, 5, 6, 7, 8] as const
  const small: [string, Buffer][] = [
    ['camera', await images.cameraJpeg()],
    ['GPS', await images.gpsJpeg()],
    ['320x240', await images.smallJpeg()],
    ...(await Promise.all(
      orientations.map(
        async (o): Promise<[string, Buffer]> => [`orientation ${o}`, await images.orientedJpeg(40, 30, o)],
      ),
    )),
  ]
  // Over 512×512 pixels, damaged, or over the pixel limit: never the short path.
  const others: [string, Buffer][] = [
    ['landscape 1', await images.landscape(1)],
    ['portrait 6', await images.portrait(6)],
    ['photo', await images.photo()],
    ['truncated', await images.truncatedJpeg()],
    ['oversized', await images.oversizedJpeg()],
  ]
  for (const [name, bytes] of [...small, ...others]) {
    const general = await outcome(analyseAny(bytes, MAX_PIXELS))
    const fast = await analyseSmallJpeg(bytes, MAX_PIXELS)
    if (small.some(([n]) => n === name)) assert.deepEqual({ result: fast }, general, name)
    else assert.equal(fast, null, name)
    assert.deepEqual(await outcome(analyseImage(bytes, MAX_PIXELS)), general, name)
  }
})

test('a small JPEG turned by its EXIF orientation reports its display size', async () => {
  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
    // Displays as 40x30 whatever the orientation: 5-8 store 30x40.
    const bytes = await images.orientedJpeg(40, 30, orientation)
    const stored = await sharp(bytes).metadata()
    assert.deepEqual([stored.width, stored.height], orientation >= 5 ? [30, 40] : [40, 30], 'stored turned')
    const analysis = await analyseSmallJpeg(bytes, MAX_PIXELS)
    assert.ok(analysis, 'a 40×30 JPEG takes the short path')
    assert.deepEqual([analysis.width, analysis.height], [40, 30], `orientation ${orientation}`)
    assert.equal(analysis.tags.exif.Orientation, orientation)
    assert.deepEqual(analysis, await analyseAny(bytes, MAX_PIXELS))
  }
})

test('a small JPEG cut short is refused with the general path’s reason', async () => {
  const whole = await images.smallJpeg()
  const cut = whole.subarray(0, Math.floor(whole.length * 0.6))
  const refused = await outcome(analyseImage(cut, MAX_PIXELS))
  assert.ok('refused' in refused, 'refused')
  assert.match(refused.refused, /premature end/i)
  assert.deepEqual(refused, await outcome(analyseAny(cut, MAX_PIXELS)))
})
