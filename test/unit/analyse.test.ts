import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import sharp from 'sharp'
import { analyseAny, analyseImage, analyseSmallJpeg } from '../../src/features/images/analyse.js'
import { CORPUS } from '../support/provisioning.js'

const MAX_PIXELS = 100_000_000

/** What an analysis comes to: its result, or the reason it refused the file. */
const outcome = (analysis: Promise<unknown>) =>
  analysis.then(
    (result) => ({ result }),
    (err: Error) => ({ refused: err.message }),
  )

test('every small JPEG of the corpus takes one decode and measures as the general path measures it', async () => {
  const jpegs = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(CORPUS, f))
    .filter((f) => /\.jpe?g$/i.test(f))
  let short = 0
  for (const file of jpegs) {
    const bytes = readFileSync(file)
    const general = await outcome(analyseAny(bytes, MAX_PIXELS))
    const fast = await analyseSmallJpeg(bytes, MAX_PIXELS)
    if (fast) {
      short++
      assert.deepEqual({ result: fast }, general, file)
    }
    assert.deepEqual(await outcome(analyseImage(bytes, MAX_PIXELS)), general, file)
  }
  // 54 of the corpus's 77 JPEGs are decodable and at most 512×512.
  assert.ok(short >= 50, `${short} of ${jpegs.length} JPEGs took the short path`)
})

test('a small JPEG turned by its EXIF orientation reports its display size', async () => {
  const pixels = Buffer.alloc(40 * 30 * 3, 128)
  for (const orientation of [1, 3, 6, 8]) {
    const bytes = await sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation })
      .toBuffer()
    const analysis = await analyseSmallJpeg(bytes, MAX_PIXELS)
    assert.ok(analysis, 'a 40×30 JPEG takes the short path')
    const turned = orientation >= 5
    assert.deepEqual(
      [analysis.width, analysis.height],
      turned ? [30, 40] : [40, 30],
      `orientation ${orientation}`,
    )
    assert.equal(analysis.tags.exif.Orientation, orientation)
    assert.deepEqual(analysis, await analyseAny(bytes, MAX_PIXELS))
  }
})

test('a small JPEG cut short is refused with the general path’s reason', async () => {
  const whole = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3a6' } })
    .jpeg()
    .toBuffer()
  const cut = whole.subarray(0, Math.floor(whole.length * 0.6))
  const refused = await outcome(analyseImage(cut, MAX_PIXELS))
  assert.ok('refused' in refused, 'refused')
  assert.deepEqual(refused, await outcome(analyseAny(cut, MAX_PIXELS)))
})
