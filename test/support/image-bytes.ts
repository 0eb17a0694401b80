/**
 * Byte-level edits and writers for the test images sharp cannot make as is:
 * metadata segments of our own (EXIF, XMP, IPTC) in a JPEG, an EXIF chunk in
 * a WebP, a JPEG header that claims other dimensions than its pixels, and a
 * BMP (libvips writes no BMP).
 */

const SOI = 0xd8
const APP0 = 0xe0
const APP1 = 0xe1
const APP13 = 0xed
/** Start-of-frame markers: baseline, extended, progressive, lossless (0xc4 and 0xc8 are not frames). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf])

interface Segment {
  marker: number
  /** Where its 0xff sits. */
  at: number
  /** Marker, length and payload. */
  end: number
}

/** The marker segments of a JPEG up to its first start-of-scan. */
function segments(jpeg: Buffer): Segment[] {
  if (jpeg[0] !== 0xff || jpeg[1] !== SOI) throw new Error('not a JPEG')
  const found: Segment[] = []
  let at = 2
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1]!
    const end = at + 2 + jpeg.readUInt16BE(at + 2)
    found.push({ marker, at, end })
    if (marker === 0xda) break
    at = end
  }
  return found
}

/** A JPEG marker segment to add: its marker (APPn) and payload, the length field is worked out. */
export interface JpegSegment {
  marker: number
  payload: Buffer
}

/** EXIF: APP1 "Exif\0\0" and the TIFF block. */
export const exifSegment = (tiff: Buffer): JpegSegment => ({
  marker: APP1,
  payload: Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]),
})

/** XMP: APP1 with Adobe's namespace, then the packet. */
export const xmpSegment = (xml: string): JpegSegment => ({
  marker: APP1,
  payload: Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xml, 'utf8')]),
})

/**
 * IPTC: APP13 "Photoshop 3.0", one 8BIM resource 0x0404 holding IPTC-IIM
 * datasets of record 2 (2:120 is the caption), as Photoshop writes them.
 */
export function iptcSegment(caption: string): JpegSegment {
  const text = Buffer.from(caption, 'utf8')
  const dataset = Buffer.concat([Buffer.from([0x1c, 2, 120, text.length >> 8, text.length & 0xff]), text])
  const resource = Buffer.alloc(12)
  resource.write('8BIM', 0, 'latin1')
  resource.writeUInt16BE(0x0404, 4)
  // Bytes 6-7: an empty Pascal name padded to an even length; then the data size.
  resource.writeUInt32BE(dataset.length, 8)
  const padding = Buffer.alloc(dataset.length % 2)
  return {
    marker: APP13,
    payload: Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), resource, dataset, padding]),
  }
}

/**
 * The JPEG with `added` segments where cameras and editors put metadata:
 * right after the SOI, or after the JFIF APP0 when there is one.
 */
export function jpegWith(jpeg: Buffer, ...added: JpegSegment[]): Buffer {
  const encoded = added.map(({ marker, payload }) => {
    if (payload.length + 2 > 0xffff) throw new Error(`a segment of ${payload.length} bytes does not fit`)
    const head = Buffer.from([0xff, marker, 0, 0])
    head.writeUInt16BE(payload.length + 2, 2)
    return Buffer.concat([head, payload])
  })
  const first = segments(jpeg)[0]
  const cut = first?.marker === APP0 ? first.end : 2
  return Buffer.concat([jpeg.subarray(0, cut), ...encoded, jpeg.subarray(cut)])
}

/**
 * The JPEG with its frame header rewritten to claim `width`x`height`: a file
 * of a few hundred bytes that any header reader takes for a huge image, as a
 * decompression bomb would present itself.
 */
export function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const frame = segments(jpeg).find((s) => SOF.has(s.marker))
  if (!frame) throw new Error('no frame header')
  const out = Buffer.from(jpeg)
  // SOFn: marker, length, precision, then height and width.
  out.writeUInt16BE(height, frame.at + 5)
  out.writeUInt16BE(width, frame.at + 7)
  return out
}

/** One RIFF chunk: four-letter id, little-endian size, payload, a pad byte to an even length. */
function chunk(id: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.write(id, 0, 'latin1')
  head.writeUInt32LE(payload.length, 4)
  return Buffer.concat([head, payload, Buffer.alloc(payload.length % 2)])
}

/**
 * A simple (VP8 or VP8L) WebP turned into an extended one carrying an EXIF
 * chunk: a VP8X header with the EXIF flag and the canvas size, the image
 * chunk, then EXIF, the order the WebP container specification sets.
 */
export function webpWithExif(webp: Buffer, tiff: Buffer, width: number, height: number): Buffer {
  if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP')
    throw new Error('not a WebP')
  const image = webp.subarray(12)
  if (!/^VP8[ L]$/.test(image.toString('latin1', 0, 4))) throw new Error('not a simple WebP')
  const vp8x = Buffer.alloc(10)
  vp8x[0] = 0x08 // the EXIF flag
  vp8x.writeUIntLE(width - 1, 4, 3)
  vp8x.writeUIntLE(height - 1, 7, 3)
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), chunk('VP8X', vp8x), image, chunk('EXIF', tiff)])
  return chunk('RIFF', body)
}

/**
 * An 8-bit palette BMP (BITMAPINFOHEADER): `indexes` holds one palette index
 * per pixel, top row first; `palette` holds [r, g, b] colours.
 */
export function paletteBmp(width: number, height: number, indexes: Uint8Array, palette: number[][]): Buffer {
  const stride = Math.ceil(width / 4) * 4
  const paletteBytes = 256 * 4
  const pixelsAt = 14 + 40 + paletteBytes
  const out = Buffer.alloc(pixelsAt + stride * height)
  out.write('BM', 0, 'latin1')
  out.writeUInt32LE(out.length, 2)
  out.writeUInt32LE(pixelsAt, 10)
  out.writeUInt32LE(40, 14) // header size
  out.writeInt32LE(width, 18)
  out.writeInt32LE(height, 22) // positive: rows are stored bottom-up
  out.writeUInt16LE(1, 26) // planes
  out.writeUInt16LE(8, 28) // bits per pixel
  out.writeUInt32LE(stride * height, 34)
  out.writeUInt32LE(256, 46) // colours used
  palette.forEach(([r = 0, g = 0, b = 0], i) => {
    out[54 + i * 4] = b
    out[54 + i * 4 + 1] = g
    out[54 + i * 4 + 2] = r
  })
  for (let y = 0; y < height; y++) {
    const row = pixelsAt + (height - 1 - y) * stride
    out.set(indexes.subarray(y * width, (y + 1) * width), row)
  }
  return out
}
