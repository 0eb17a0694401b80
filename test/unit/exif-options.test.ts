import assert from 'node:assert/strict'
import { test } from 'node:test'
import exifr from 'exifr'
import { readExif } from '../../src/features/images/exif.js'
import { exifTiff } from '../support/exif-writer.js'

test('every EXIF read passes exifr the same options object, which exifr caches by identity for good', async () => {
  const seen = new Set<unknown>()
  const parse = exifr.parse
  exifr.parse = ((input: never, options: unknown) => {
    seen.add(options)
    return parse(input, options as never)
  }) as typeof exifr.parse
  try {
    const block = exifTiff({ Make: 'Pictura', Model: 'Leak check' })
    for (let i = 0; i < 20; i++) {
      const tags = await readExif(new Uint8Array(), block)
      assert.equal(tags.exif.Make, 'Pictura')
    }
  } finally {
    exifr.parse = parse
  }
  assert.equal(seen.size, 1, 'one options object: a new one per call would stay in exifr’s cache forever')
})
