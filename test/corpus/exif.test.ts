import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createWorkerEnv, provisioned, type WorkerEnv } from '../factories.js'
import { CORPUS } from './corpus.js'

/**
 * The EXIF of real cameras' files from ExifTool's test images, read as
 * ExifTool documents them: what test/integration/exif.test.ts checks on
 * generated files, held to files nobody on this project wrote.
 */
const exiftool = (name: string) => readFileSync(path.join(CORPUS, 'exiftool', name))

for (const exifGps of [false, true]) {
  describe(`ExifTool's camera files, EXIF_GPS=${exifGps}`, () => {
    let env: WorkerEnv
    before(async () => {
      env = await createWorkerEnv({ EXIF_GPS: String(exifGps) })
    })
    after(() => env.close())

    test('an iPhone 7 photo (Apple.jpg): camera, lens, exposure and a date with no zone; GPS only when enabled', async () => {
      const image = await provisioned(env, exiftool('Apple.jpg'), 'Apple.jpg')
      assert.equal(image.exif.Make, 'Apple')
      assert.equal(image.exif.Model, 'iPhone 7')
      assert.equal(image.exif.DateTimeOriginal, '2016-09-28T18:18:05')
      assert.equal(image.exif.LensModel, 'iPhone 7 back camera 3.99mm f/1.8')
      assert.equal(image.exif.FNumber, 1.8)
      assert.equal(image.exif.ISO, 40)
      const gps = Object.keys(image.exif).filter((k) => k.startsWith('GPS'))
      if (!exifGps) assert.deepEqual(gps, [])
      else {
        assert.equal(image.exif.GPSLatitude, 53.3828472)
        assert.equal(image.exif.GPSLongitude, -1.4566778)
      }
    })

    test('a FUJIFILM photo with GPS (GPS.jpg); a GIF (no EXIF); a WebP EXIF chunk (RIFF.webp)', async () => {
      const photo = await provisioned(env, exiftool('GPS.jpg'), 'GPS.jpg')
      assert.equal(photo.exif.Make, 'FUJIFILM')
      assert.deepEqual([photo.width, photo.height], [120, 80])
      if (exifGps)
        assert.deepEqual([photo.exif.GPSLatitude, photo.exif.GPSLongitude], [54.9896667, -1.9141667])
      else assert.equal(photo.exif.GPSLatitude, undefined)
      assert.deepEqual((await provisioned(env, exiftool('GIF.gif'), 'GIF.gif')).exif, {})
      assert.equal((await provisioned(env, exiftool('RIFF.webp'), 'RIFF.webp')).exif.Artist, 'me')
    })
  })
}
