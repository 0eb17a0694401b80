import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  CLOSING,
  DATE_KEY,
  type ImageFields,
  imageHead,
  storedAsIs,
  urlOpening,
  withGps,
} from '../../src/features/images/image-json.js'

/** The hand-written JSON must be exactly what JSON.stringify makes of the same image, whatever the strings hold. */

const fields = (over: Partial<ImageFields> = {}): ImageFields => ({
  id: 'img_01hkmtgmx0e07an8fpjf52ekny',
  file_id: 'fil_01hkmtgjyge02bqt0seqb6n6kz',
  workspace_id: 'ws_01hk153q4ge0291frhtcgvyeqx',
  cf_image_id: 'eb88de18d81cbae935475b2d54619ad1',
  width: 6240,
  height: 4160,
  size: 3410081,
  exif: '{"Make":"Canon","Note":"say \\"hi\\"\\n"}',
  thumbhash: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
  ...over,
})
const BASE = 'https://img.example.com:8443/cdn/'
const PATH = 'eb88de18d81cbae935475b2d54619ad1/public'
const URL = BASE + PATH
const CREATED = '2024-01-08T15:19:32.000Z'

/** The answer as a read's statement composes it (ImageReads). */
const imageJson = (head: string, base = BASE, path = PATH, createdAt = CREATED) =>
  head + urlOpening(base) + storedAsIs(path) + DATE_KEY + storedAsIs(createdAt) + CLOSING

const expected = (f: ImageFields, url = URL, createdAt = CREATED) =>
  JSON.stringify({
    id: f.id,
    fileId: f.file_id,
    workspaceId: f.workspace_id,
    cfImageId: f.cf_image_id,
    width: f.width,
    height: f.height,
    size: f.size,
    exif: JSON.parse(f.exif),
    thumbhash: f.thumbhash,
    url,
    createdAt,
  })

test('an image head with its url and date equals JSON.stringify, for plain and hostile strings', () => {
  const hostile = ['a"b', 'back\\slash', 'line\nbreak', '\u2028', 'é', '<script>', '', 'tab\there', '\u0000']
  assert.equal(imageJson(imageHead(fields())), expected(fields()))
  for (const h of hostile) {
    for (const field of ['id', 'file_id', 'workspace_id', 'cf_image_id'] as const) {
      const f = fields({ [field]: h })
      assert.equal(imageJson(imageHead(f)), expected(f), `${field} = ${JSON.stringify(h)}`)
    }
    // The base comes from the configuration: escaped as any string.
    assert.equal(
      imageJson(imageHead(fields()), h),
      expected(fields(), h + PATH),
      `base = ${JSON.stringify(h)}`,
    )
  }
})

test('paths and dates are stored only as printable ASCII that JSON writes as it is', () => {
  for (const ok of [PATH, CREATED, "a%20b/it's(ok)*!~/public", ''])
    assert.equal(JSON.stringify(ok), `"${storedAsIs(ok)}"`, ok)
  for (const bad of ['a"b', 'back\\slash', 'line\nbreak', '\u2028', 'é', '\u0000', '\u007f'])
    assert.throws(() => storedAsIs(bad), /Not stored in an image's JSON as it is/, JSON.stringify(bad))
})

test('an image without EXIF answers an empty object', () => {
  assert.deepEqual(JSON.parse(imageJson(imageHead(fields({ exif: '' })))).exif, {})
})

test('withGps merges the GPS tags into exif and keeps every other field', () => {
  const image = JSON.parse(withGps(imageJson(imageHead(fields())), '{"GPSLatitude":48.85}'))
  assert.deepEqual(image.exif, { Make: 'Canon', Note: 'say "hi"\n', GPSLatitude: 48.85 })
  assert.deepEqual({ ...image, exif: undefined }, { ...JSON.parse(expected(fields())), exif: undefined })
})
