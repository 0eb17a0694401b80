/**
 * A small EXIF writer, so tests can make photos that carry what real cameras
 * write: text, rationals, GPS coordinates, binary blobs. sharp's `withExif`
 * only takes strings for IFD0 and the EXIF IFD, so it cannot say "this is an
 * f/1.8 rational" or write a GPS IFD; this writes the TIFF structure directly.
 *
 * Layout (big-endian, "MM"): the 8-byte TIFF header, IFD0, then the EXIF IFD
 * and the GPS IFD when they have tags; each IFD is followed by the values that
 * do not fit in its 4-byte entry slots.
 */

/** TIFF field types (TIFF 6.0 section 2). */
const Type = { Byte: 1, Ascii: 2, Short: 3, Long: 4, Rational: 5, Undefined: 7 } as const
type Type = (typeof Type)[keyof typeof Type]

type Ifd = 'ifd0' | 'exif' | 'gps'

/** The tags the tests write: where each lives, its number and its TIFF type (EXIF 2.32). */
const TAGS = {
  ImageDescription: ['ifd0', 0x010e, Type.Ascii],
  Make: ['ifd0', 0x010f, Type.Ascii],
  Model: ['ifd0', 0x0110, Type.Ascii],
  Orientation: ['ifd0', 0x0112, Type.Short],
  Software: ['ifd0', 0x0131, Type.Ascii],
  ModifyDate: ['ifd0', 0x0132, Type.Ascii],
  Artist: ['ifd0', 0x013b, Type.Ascii],
  Copyright: ['ifd0', 0x8298, Type.Ascii],
  ExposureTime: ['exif', 0x829a, Type.Rational],
  FNumber: ['exif', 0x829d, Type.Rational],
  ISO: ['exif', 0x8827, Type.Short],
  ExifVersion: ['exif', 0x9000, Type.Undefined],
  DateTimeOriginal: ['exif', 0x9003, Type.Ascii],
  CreateDate: ['exif', 0x9004, Type.Ascii],
  OffsetTime: ['exif', 0x9010, Type.Ascii],
  OffsetTimeOriginal: ['exif', 0x9011, Type.Ascii],
  OffsetTimeDigitized: ['exif', 0x9012, Type.Ascii],
  FocalLength: ['exif', 0x920a, Type.Rational],
  MakerNote: ['exif', 0x927c, Type.Undefined],
  UserComment: ['exif', 0x9286, Type.Undefined],
  LensMake: ['exif', 0xa433, Type.Ascii],
  LensModel: ['exif', 0xa434, Type.Ascii],
  GPSVersionID: ['gps', 0x0000, Type.Byte],
  GPSLatitudeRef: ['gps', 0x0001, Type.Ascii],
  GPSLatitude: ['gps', 0x0002, Type.Rational],
  GPSLongitudeRef: ['gps', 0x0003, Type.Ascii],
  GPSLongitude: ['gps', 0x0004, Type.Rational],
  GPSAltitudeRef: ['gps', 0x0005, Type.Byte],
  GPSAltitude: ['gps', 0x0006, Type.Rational],
} as const satisfies Record<string, readonly [Ifd, number, Type]>

export type ExifTagName = keyof typeof TAGS

/**
 * Tag values as a test states them: text for ASCII tags; a number or a list
 * for SHORT, BYTE and RATIONAL ones (a rational is written as the exact
 * decimal fraction, 1.8 as 18/10); bytes for UNDEFINED ones.
 */
export type ExifInput = Partial<Record<ExifTagName, string | number | number[] | Uint8Array>>

const EXIF_IFD_POINTER = 0x8769
const GPS_IFD_POINTER = 0x8825

interface Entry {
  tag: number
  type: Type
  count: number
  bytes: Buffer
}

/** The TIFF block of an EXIF segment (what follows "Exif\0\0" in a JPEG, the payload of a WebP EXIF chunk). */
export function exifTiff(input: ExifInput): Buffer {
  const ifds: Record<Ifd, Entry[]> = { ifd0: [], exif: [], gps: [] }
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue
    const [ifd, tag, type] = TAGS[name as ExifTagName]
    ifds[ifd].push(entry(tag, type, value))
  }
  // IFD0 points at the other two; their offsets depend only on sizes, which placeholders already fix.
  const pointers = [
    ...(ifds.exif.length ? [EXIF_IFD_POINTER] : []),
    ...(ifds.gps.length ? [GPS_IFD_POINTER] : []),
  ]
  const ifd0 = [...ifds.ifd0, ...pointers.map((tag) => entry(tag, Type.Long, 0))]
  const exifStart = 8 + ifdBlock(ifd0, 8).length
  const gpsStart = exifStart + (ifds.exif.length ? ifdBlock(ifds.exif, exifStart).length : 0)
  for (const e of ifd0) {
    if (e.tag === EXIF_IFD_POINTER) e.bytes.writeUInt32BE(exifStart)
    if (e.tag === GPS_IFD_POINTER) e.bytes.writeUInt32BE(gpsStart)
  }
  const header = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8])
  return Buffer.concat([
    header,
    ifdBlock(ifd0, 8),
    ifds.exif.length ? ifdBlock(ifds.exif, exifStart) : Buffer.alloc(0),
    ifds.gps.length ? ifdBlock(ifds.gps, gpsStart) : Buffer.alloc(0),
  ])
}

/** One IFD at `start` (an offset in the TIFF block): its entries, no next IFD, then its long values. */
function ifdBlock(entries: Entry[], start: number): Buffer {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag)
  const head = Buffer.alloc(2 + sorted.length * 12 + 4)
  const overflow: Buffer[] = []
  let next = start + head.length
  head.writeUInt16BE(sorted.length, 0)
  sorted.forEach((e, i) => {
    const at = 2 + i * 12
    head.writeUInt16BE(e.tag, at)
    head.writeUInt16BE(e.type, at + 2)
    head.writeUInt32BE(e.count, at + 4)
    if (e.bytes.length <= 4) e.bytes.copy(head, at + 8)
    else {
      head.writeUInt32BE(next, at + 8)
      // Values start on a word boundary, as the TIFF specification asks.
      const padded = e.bytes.length % 2 ? Buffer.concat([e.bytes, Buffer.alloc(1)]) : e.bytes
      overflow.push(padded)
      next += padded.length
    }
  })
  return Buffer.concat([head, ...overflow])
}

function entry(tag: number, type: Type, value: string | number | number[] | Uint8Array): Entry {
  if (type === Type.Ascii) {
    const bytes = Buffer.from(`${String(value)}\0`, 'latin1')
    return { tag, type, count: bytes.length, bytes }
  }
  if (type === Type.Undefined || value instanceof Uint8Array) {
    const bytes = Buffer.from(value instanceof Uint8Array ? value : Buffer.from(String(value), 'latin1'))
    return { tag, type, count: bytes.length, bytes }
  }
  const list = Array.isArray(value) ? value : [Number(value)]
  if (type === Type.Rational) {
    const bytes = Buffer.alloc(list.length * 8)
    list.forEach((v, i) => {
      const [num, den] = fraction(v)
      bytes.writeUInt32BE(num, i * 8)
      bytes.writeUInt32BE(den, i * 8 + 4)
    })
    return { tag, type, count: list.length, bytes }
  }
  const width = type === Type.Byte ? 1 : type === Type.Short ? 2 : 4
  const bytes = Buffer.alloc(list.length * width)
  for (const [i, v] of list.entries()) bytes.writeUIntBE(v, i * width, width)
  return { tag, type, count: list.length, bytes }
}

/** A decimal as the exact fraction it spells: 58.25 is 5825/100. Up to six decimals. */
function fraction(value: number): [number, number] {
  for (let den = 1; den <= 1_000_000; den *= 10) {
    const num = Math.round(value * den)
    if (Math.abs(num / den - value) < 1e-9) return [num, den]
  }
  throw new Error(`${value} has more than six decimals`)
}
