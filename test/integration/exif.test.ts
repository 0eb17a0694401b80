import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { EXIF_MAX_BYTES, publicExif, sanitiseExif } from '../../src/features/images/exif.js'
import { createWorkerEnv, provisioned, type WorkerEnv } from '../factories.js'
import { cameraJpeg, exifWebp, gpsJpeg, paletteGif, taggedJpeg } from '../support/images.js'

/** Every value is a number, a string, a boolean or a flat array of numbers and strings. */
function assertJsonSafe(exif: Record<string, unknown>) {
  for (const [key, value] of Object.entries(exif)) {
    const ok =
      ['number', 'string', 'boolean'].includes(typeof value) ||
      (Array.isArray(value) && value.every((v) => typeof v === 'number' || typeof v === 'string'))
    assert.ok(ok, `${key} holds ${Object.prototype.toString.call(value)}`)
  }
  assert.ok(Buffer.byteLength(JSON.stringify(exif)) <= EXIF_MAX_BYTES)
}

/** A worker env whose deployment sets EXIF_GPS as given. */
function gpsEnv(exifGps: boolean) {
  const ctx = {} as { env: WorkerEnv }
  before(async () => {
    ctx.env = await createWorkerEnv({ EXIF_GPS: String(exifGps) })
  })
  after(() => ctx.env.close())
  return ctx
}

describe('EXIF of a photo with GPS, default deployment (EXIF_GPS unset)', () => {
  const ctx = gpsEnv(false)

  test('the API leaves every GPS tag out; storage keeps them apart', async () => {
    // An iPhone 7's tags, GPS included (see CAMERA_TAGS).
    const image = await provisioned(ctx.env, await cameraJpeg(), 'camera.jpg')
    assert.equal(image.exif.Make, 'Apple')
    assert.equal(image.exif.Model, 'iPhone 7')
    assert.equal(
      image.exif.DateTimeOriginal,
      '2016-09-28T18:18:05',
      'as the camera wrote it, no zone invented',
    )
    assert.equal(image.exif.LensModel, 'iPhone 7 back camera 3.99mm f/1.8')
    assert.equal(image.exif.FNumber, 1.8)
    assert.equal(image.exif.ExposureTime, 0.05)
    assert.equal(image.exif.ISO, 40)
    assert.equal(image.exif.ExifVersion, '0221', 'a version is read as its digits')
    assert.equal(image.exif.MakerNote, undefined, 'binary tags are dropped')
    assert.equal(image.exif.UserComment, undefined)
    assert.deepEqual(
      Object.keys(image.exif).filter((k) => k.startsWith('GPS')),
      [],
    )
    assertJsonSafe(image.exif)
    const row = await ctx.env.t.c.db
      .selectFrom('images')
      .selectAll()
      .where('id', '=', image.id)
      .executeTakeFirstOrThrow()
    assert.ok(!row.exif.includes('GPS'), 'the public column holds no GPS tag')
    const gps = JSON.parse(row.exif_gps ?? '{}')
    assert.equal(gps.GPSLatitude, 53.3828472)
    assert.equal(gps.GPSLongitude, -1.4566778, 'west is negative')
    assert.equal(gps.GPSAltitude, 72.37)
    assert.deepEqual(publicExif(row, false), JSON.parse(row.exif))
  })

  test('delivered bytes carry no EXIF, XMP or IPTC, whatever the variant', async () => {
    // The camera photo carries EXIF, XMP and IPTC; the GPS one EXIF and IPTC.
    for (const [name, bytes] of [
      ['camera.jpg', await cameraJpeg()],
      ['gps.jpg', await gpsJpeg()],
    ] as const) {
      const original = await sharp(bytes).metadata()
      assert.ok(original.exif && original.iptc, `${name} has metadata to strip`)
      const image = await provisioned(ctx.env, bytes, name)
      for (const variant of ['public', 'thumbnail', 'w=4,format=jpeg', 'w=4,format=webp', 'w=4,format=png']) {
        const res = await ctx.env.t.app.inject({ method: 'GET', url: `/cdn/${image.cfImageId}/${variant}` })
        assert.equal(res.statusCode, 200, `${name} ${variant}`)
        const m = await sharp(res.rawPayload).metadata()
        assert.equal(m.exif, undefined, `${name} ${variant}: EXIF`)
        assert.equal(m.xmp, undefined, `${name} ${variant}: XMP`)
        assert.equal(m.iptc, undefined, `${name} ${variant}: IPTC`)
        assert.equal(res.rawPayload.indexOf('Exif\0'), -1, `${name} ${variant}: an Exif segment`)
      }
    }
  })

  test('a GIF has no EXIF ({}, and ready); a WebP’s EXIF chunk is read', async () => {
    const gif = await provisioned(ctx.env, await paletteGif(), 'still.gif')
    assert.deepEqual(gif.exif, {})
    const webp = await provisioned(ctx.env, await exifWebp(), 'exif.webp')
    assert.equal(webp.exif.Artist, 'me')
    assertJsonSafe(webp.exif)
  })

  test('a date with its zone reads with the offset; an EXIF block over 16 KiB loses its longest values', async () => {
    const gps = await provisioned(ctx.env, await gpsJpeg(), 'zoned.jpg')
    assert.equal(gps.exif.DateTimeOriginal, '2002-07-13T15:58:28+01:00', 'OffsetTimeOriginal applied')
    const long = await taggedJpeg({
      Make: 'Nikon',
      ImageDescription: 'x'.repeat(12_000),
      Artist: 'y'.repeat(9_000),
      Copyright: 'z'.repeat(3_000),
    })
    const capped = await provisioned(ctx.env, long, 'long.jpg')
    assert.equal(capped.exif.ImageDescription, undefined, 'the longest value went')
    assert.equal(capped.exif.Make, 'Nikon')
    assert.equal(capped.exif.Artist, 'y'.repeat(9_000))
    assert.equal(capped.exif.Copyright, 'z'.repeat(3_000))
    assertJsonSafe(capped.exif)
  })
})

describe('EXIF of a photo with GPS, EXIF_GPS=true', () => {
  const ctx = gpsEnv(true)

  test('GPS tags join the exif object, latitude and longitude as signed decimal degrees', async () => {
    // FUJIFILM at 54°59'22.8"N 1°54'51"W (see GPS_TAGS).
    const image = await provisioned(ctx.env, await gpsJpeg(), 'gps.jpg')
    assert.equal(image.exif.GPSLatitude, 54.9896667)
    assert.equal(image.exif.GPSLongitude, -1.9141667)
    assert.equal(image.exif.GPSLatitudeRef, undefined, 'the sign carries the hemisphere')
    assert.equal(image.exif.Make, 'FUJIFILM')
    assertJsonSafe(image.exif)
  })
})

describe('sanitising', () => {
  test('binary tags, parser errors, unnamed tags and non-finite numbers are dropped', () => {
    const { exif, gps } = sanitiseExif({
      Make: 'Canon\0\0',
      MakerNote: new Uint8Array(5000),
      ThumbnailImage: Buffer.alloc(100),
      UserComment: new Uint8Array(64),
      ExifVersion: new Uint8Array([48, 50, 51, 50]),
      ComponentsConfiguration: new Uint8Array([1, 2, 3, 0]),
      SubjectArea: new Uint16Array([10, 20, 30, 40]),
      ExposureBias: Number.NaN,
      errors: ['bad IFD'],
      59932: 'padding',
      latitude: 1,
      Nested: { a: 1 },
      GPSLatitude: [12, 30, 0],
      GPSLatitudeRef: 'S',
      GPSLongitude: [4, 0, 0],
      GPSLongitudeRef: 'E',
    })
    assert.deepEqual(exif, {
      Make: 'Canon',
      ExifVersion: '0232',
      ComponentsConfiguration: [1, 2, 3, 0],
      SubjectArea: [10, 20, 30, 40],
    })
    assert.deepEqual(gps, { GPSLatitude: -12.5, GPSLongitude: 4 })
  })

  test('dates read as written, with an offset only when the file records one', () => {
    const { exif } = sanitiseExif({
      DateTimeOriginal: '2024:05:06 07:08:09',
      OffsetTimeOriginal: '+02:00',
      CreateDate: '2024:05:06 07:08:09',
      ModifyDate: '0000:00:00 00:00:00',
    })
    assert.equal(exif.DateTimeOriginal, '2024-05-06T07:08:09+02:00')
    assert.equal(exif.CreateDate, '2024-05-06T07:08:09')
    assert.equal(exif.ModifyDate, undefined, 'an unknown date is no date')
  })

  test('at most 16 KiB of JSON: the longest values go first', () => {
    const { exif } = sanitiseExif({
      Make: 'Nikon',
      ImageDescription: 'x'.repeat(12_000),
      Artist: 'y'.repeat(9_000),
      Copyright: 'z'.repeat(3_000),
    })
    assert.ok(Buffer.byteLength(JSON.stringify(exif)) <= EXIF_MAX_BYTES)
    assert.equal(exif.ImageDescription, undefined)
    assert.equal(exif.Make, 'Nikon')
    assert.equal(exif.Artist, 'y'.repeat(9_000))
    assert.equal(exif.Copyright, 'z'.repeat(3_000))
  })
})
