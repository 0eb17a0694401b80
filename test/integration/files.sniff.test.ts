import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SNIFF_BYTES, sniffMime } from '../../src/features/files/sniff.js'
import * as images from '../support/images.js'

test('the sniffer names every format the suite uploads, from the head of the file as an upload sees it', async () => {
  const expected: [string, Buffer | string, string][] = [
    ['photo', await images.photo(), 'image/jpeg'],
    ['truncated JPEG', await images.truncatedJpeg(), 'image/jpeg'],
    ['oversized JPEG', await images.oversizedJpeg(), 'image/jpeg'],
    ['JPEG with EXIF, XMP and IPTC', await images.cameraJpeg(), 'image/jpeg'],
    ['orientation 6', await images.portrait(6), 'image/jpeg'],
    ['bilevel PNG', await images.samplePng('bilevel'), 'image/png'],
    ['grey PNG', await images.samplePng('grey'), 'image/png'],
    ['RGB PNG', await images.samplePng('rgb'), 'image/png'],
    ['RGBA PNG', await images.samplePng('rgba'), 'image/png'],
    ['palette GIF', await images.paletteGif(), 'image/gif'],
    ['animated GIF', await images.animatedGif(), 'image/gif'],
    ['WebP', await images.sampleWebp(), 'image/webp'],
    ['WebP with EXIF', await images.exifWebp(), 'image/webp'],
    ['AVIF', await images.sampleAvif(), 'image/avif'],
    ['TIFF', await images.sampleTiff(), 'image/tiff'],
    ['fax TIFF', await images.faxTiff(), 'image/tiff'],
    ['BMP', await images.sampleBmp(), 'image/bmp'],
    ['SVG', images.SVG, 'image/svg+xml'],
    ['SVG with a prolog', images.SVG_WITH_PROLOG, 'image/svg+xml'],
  ]
  for (const [name, bytes, mime] of expected)
    assert.equal(await sniffMime(Buffer.from(bytes).subarray(0, SNIFF_BYTES)), mime, name)
})

test('text markup rules of API.md section 3', async () => {
  const sniff = (text: string) => sniffMime(Buffer.from(text))
  assert.equal(await sniff('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml')
  assert.equal(await sniff('\uFEFF  \n<svg>'), 'image/svg+xml')
  assert.equal(
    await sniff('<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE svg [<!ENTITY a "b>">]>\n<svg/>'),
    'image/svg+xml',
  )
  assert.equal(
    await sniff('<?xml version="1.0"?><svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'),
    'image/svg+xml',
  )
  assert.equal(await sniff('<?xml version="1.0"?><rss/>'), 'application/xml')
  assert.equal(await sniff('<?xml version="1.0"?><svgx/>'), 'application/xml')
  assert.equal(await sniff('<!doctype html><p>'), 'text/html')
  assert.equal(await sniff('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">'), 'text/html')
  assert.equal(await sniff('<HTML lang="en">'), 'text/html')
  assert.equal(await sniff('<htmlx>'), 'application/octet-stream')
  assert.equal(await sniff('<p>just a fragment</p>'), 'application/octet-stream')
  assert.equal(await sniff('plain text mentioning <svg> later'), 'application/octet-stream')
  assert.equal(await sniff(''), 'application/octet-stream')
})
