import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { EXIF_MAX_BYTES, publicExif, sanitiseExif } from '../../src/features/images/exif.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { type Client, json, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { CORPUS, settled, upload } from '../support/provisioning.js'

const exiftool = (name: string) => readFileSync(path.join(CORPUS, 'exiftool', name))

interface ImageView {
  id: string
  fileId: string
  cfImageId: string
  exif: Record<string, unknown>
}

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

function gpsEnv(exifGps: boolean) {
  const ctx = {} as { t: TestEnv; worker: Worker; api: Client; ws: string }
  before(async () => {
    ctx.t = await createTestEnv({ EXIF_GPS: String(exifGps) })
    ctx.worker = new Worker(ctx.t.c).start()
    const owner = await newUser(ctx.t)
    ctx.api = owner.api
    ctx.ws = (await newWorkspace(owner)).id
  })
  after(async () => {
    await ctx.worker.stop()
    await ctx.t.close()
  })
  return ctx
}

async function provision(ctx: ReturnType<typeof gpsEnv>, name: string): Promise<ImageView> {
  const file = await upload(ctx.api, ctx.ws, exiftool(name), name)
  const [row] = await settled(ctx.t, [file.id])
  assert.equal(row!.image_status, 'ready', `${name}: ${row!.image_error}`)
  return json<ImageView>(await ctx.api.get(`/api/images/by-file/${file.id}`))
}

describe('EXIF of a photo with GPS, default deployment (EXIF_GPS unset)', () => {
  const ctx = gpsEnv(false)

  test('the API leaves every GPS tag out; storage keeps them apart', async () => {
    const image = await provision(ctx, 'Apple.jpg')
    assert.equal(image.exif.Make, 'Apple')
    assert.equal(image.exif.Model, 'iPhone 7')
    assert.equal(
      image.exif.DateTimeOriginal,
      '2016-09-28T18:18:05',
      'as the camera wrote it, no zone invented',
    )
    assert.equal(image.exif.LensModel, 'iPhone 7 back camera 3.99mm f/1.8')
    assert.equal(image.exif.FNumber, 1.8)
    assert.equal(image.exif.ISO, 40)
    assert.deepEqual(
      Object.keys(image.exif).filter((k) => k.startsWith('GPS')),
      [],
    )
    assertJsonSafe(image.exif)
    const row = await ctx.t.c.db
      .selectFrom('images')
      .selectAll()
      .where('id', '=', image.id)
      .executeTakeFirstOrThrow()
    assert.ok(!row.exif.includes('GPS'), 'the public column holds no GPS tag')
    const gps = JSON.parse(row.exif_gps ?? '{}')
    assert.equal(gps.GPSLatitude, 53.3828472)
    assert.equal(gps.GPSLongitude, -1.4566778, 'west is negative')
    assert.deepEqual(publicExif(row, false), JSON.parse(row.exif))
  })

  test('delivered bytes carry no EXIF, XMP or IPTC, whatever the variant', async () => {
    for (const name of ['Apple.jpg', 'GPS.jpg']) {
      const image = await provision(ctx, name)
      for (const variant of ['public', 'thumbnail', 'w=4,format=jpeg', 'w=4,format=webp', 'w=4,format=png']) {
        const res = await ctx.t.app.inject({ method: 'GET', url: `/cdn/${image.cfImageId}/${variant}` })
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
    const gif = await provision(ctx, 'GIF.gif')
    assert.deepEqual(gif.exif, {})
    const webp = await provision(ctx, 'RIFF.webp')
    assert.equal(webp.exif.Artist, 'me')
    assertJsonSafe(webp.exif)
  })
})

describe('EXIF of a photo with GPS, EXIF_GPS=true', () => {
  const ctx = gpsEnv(true)

  test('GPS tags join the exif object, latitude and longitude as signed decimal degrees', async () => {
    const image = await provision(ctx, 'GPS.jpg')
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
