import assert from 'node:assert/strict'
import { test } from 'node:test'
import exifr from 'exifr'
import sharp, { type Sharp } from 'sharp'
import * as images from '../support/images.js'

/**
 * The generated images are what test/support/images.ts says they are: the
 * other tests assert the service's behaviour against these claims.
 */

/** Mean absolute difference of two images' RGB values at 120x90. */
async function difference(a: Sharp, b: Sharp): Promise<number> {
  const small = (s: Sharp) => s.resize(120, 90, { fit: 'fill' }).raw().toBuffer()
  const [pa, pb] = await Promise.all([small(a), small(b)])
  let sum = 0
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i]! - pb[i]!)
  return sum / pa.length
}

test('each orientation stores the scene so that applying its EXIF orientation shows it upright', async () => {
  const upright = () => sharp(images.scene(600, 450), { raw: { width: 600, height: 450, channels: 3 } })
  // The scene has no symmetry: a mirrored or turned copy looks clearly different.
  assert.ok((await difference(upright(), upright().flop())) > 30)
  assert.ok((await difference(upright(), upright().rotate(180))) > 30)
  for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
    const bytes = await images.landscape(orientation)
    const m = await sharp(bytes).metadata()
    assert.equal(m.orientation, orientation)
    assert.deepEqual([m.width, m.height], orientation >= 5 ? [450, 600] : [600, 450], `${orientation} stored`)
    const shown = await difference(sharp(bytes).rotate(), upright())
    assert.ok(shown < 3, `orientation ${orientation} shows the scene upright (difference ${shown})`)
  }
  const portrait = await sharp(await images.portrait(6)).metadata()
  assert.deepEqual(
    [portrait.width, portrait.height, portrait.autoOrient],
    [600, 450, { width: 450, height: 600 }],
  )
})

test('the EXIF writer writes what a parser reads back: text, rationals, GPS, binary, next to XMP and IPTC', async () => {
  const bytes = await images.cameraJpeg()
  const tags = await exifr.parse(bytes, { makerNote: true, userComment: true, translateValues: false })
  assert.equal(tags.Make, 'Apple')
  assert.equal(tags.LensModel, 'iPhone 7 back camera 3.99mm f/1.8')
  assert.deepEqual([tags.FNumber, tags.ExposureTime, tags.FocalLength, tags.ISO], [1.8, 0.05, 3.99, 40])
  assert.deepEqual(tags.GPSLatitude, [53, 22, 58.25])
  assert.deepEqual([tags.GPSLatitudeRef, tags.GPSLongitudeRef], ['N', 'W'])
  assert.equal(tags.GPSAltitude, 72.37)
  assert.equal(tags.makerNote.length, 2048, 'the MakerNote, whole')
  assert.match(Buffer.from(tags.userComment).toString('latin1'), /^ASCII\0{3}a comment$/)
  const m = await sharp(bytes).metadata()
  assert.ok(m.exif && m.xmp && m.iptc, 'EXIF, XMP and IPTC segments')
  const webp = await sharp(await images.exifWebp()).metadata()
  assert.equal(webp.format, 'webp')
  assert.equal((await exifr.parse(webp.exif!.subarray(0))).Artist, 'me')
})

test('broken and hostile JPEGs: a header that promises pixels the file lacks, or more than it holds', async () => {
  const truncated = await images.truncatedJpeg()
  assert.equal(truncated.length, 10_000)
  const header = await sharp(truncated).metadata()
  assert.deepEqual([header.width, header.height], [2725, 2225], 'the header is intact')
  await assert.rejects(sharp(truncated, { failOn: 'warning' }).raw().toBuffer(), /premature end/i)
  const oversized = await images.oversizedJpeg()
  assert.ok(oversized.length < 2_000, `${oversized.length} bytes`)
  const claimed = await sharp(oversized, { limitInputPixels: false }).metadata()
  assert.deepEqual([claimed.width, claimed.height], [20_000, 14_000])
})

test('the animated GIF has its frames, loop count and colours; the PNGs their colour types', async () => {
  const gif = await images.animatedGif()
  const m = await sharp(gif).metadata()
  assert.deepEqual([m.width, m.height, m.pages, m.loop], [370, 285, 10, 3])
  for (const page of [0, 9]) {
    const pixel = await sharp(gif, { page }).removeAlpha().raw().toBuffer()
    assert.deepEqual([...pixel.subarray(0, 3)], images.ANIMATION_FRAMES[page], `frame ${page}`)
  }
  const png = async (kind: images.PngKind) => {
    const p = await sharp(await images.samplePng(kind)).metadata()
    return [p.width, p.height, p.channels, p.isPalette, p.bitsPerSample]
  }
  assert.deepEqual(await png('bilevel'), [32, 32, 3, true, 1])
  assert.deepEqual(await png('grey'), [32, 32, 1, false, 8])
  assert.deepEqual(await png('rgb'), [32, 32, 3, false, 8])
  assert.deepEqual(await png('rgba'), [32, 32, 4, false, 8])
  const bmp = await images.sampleBmp()
  assert.deepEqual([bmp.toString('latin1', 0, 2), bmp.readInt32LE(18), bmp.readInt32LE(22)], ['BM', 23, 42])
})
