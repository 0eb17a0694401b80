import exifr from 'exifr'

/** What an EXIF tag may hold once sanitised: JSON values only, never binary. */
export type ExifValue = string | number | boolean | (string | number)[]
export type ExifTags = Record<string, ExifValue>

/** The stored tags of an image: public ones, and the GPS ones kept apart (private by default). */
export interface SanitisedExif {
  exif: ExifTags
  gps: ExifTags
}

/** The API caps the `exif` object (GPS tags included) at this many bytes of UTF-8 JSON. */
export const EXIF_MAX_BYTES = 16 * 1024
const MAX_ARRAY = 64
const MAX_RAW_BYTES = 8
const VERSION_TAGS = new Set(['ExifVersion', 'FlashpixVersion', 'InteropVersion'])
// The offset tags of EXIF 2.31 say which zone a date-time was written in; without one the time stays local.
const OFFSET_OF: Record<string, string> = {
  DateTimeOriginal: 'OffsetTimeOriginal',
  CreateDate: 'OffsetTimeDigitized',
  ModifyDate: 'OffsetTime',
}
const EXIF_DATE_TIME = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/
const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})$/
const OFFSET = /^[+-]\d{2}:\d{2}$/

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1')

/**
 * One options object for every parse: exifr keeps the options it has seen in
 * a module-level Map keyed by the object itself (Options.useCached), so a new
 * literal per call stays there for good, some 7 KB an image (the soak's
 * climbing heap, bench/SOAK.md).
 */
const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  interop: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  mergeOutput: true,
}

/**
 * Reads the TIFF/EXIF/GPS tags of an image and keeps what JSON can carry.
 * `exifBlock` is the EXIF block the decoder found (sharp's `metadata().exif`):
 * it reaches WebP, AVIF, HEIF and PNG, whose containers exifr does not read;
 * without one, exifr reads the file (JPEG, TIFF). Whatever cannot be parsed
 * simply has no EXIF. Values stay as the file wrote them (no revival into
 * Date objects, which would invent a time zone); enumerations stay numeric,
 * as in `exiftool -n`.
 */
export async function readExif(file: Uint8Array, exifBlock?: Uint8Array): Promise<SanitisedExif> {
  let input = file
  if (exifBlock && exifBlock.length > 8) {
    const block = Buffer.from(exifBlock.buffer, exifBlock.byteOffset, exifBlock.length)
    input = block.subarray(0, 6).equals(EXIF_HEADER) ? block.subarray(6) : block
  }
  let raw: Record<string, unknown> | undefined
  try {
    raw = await exifr.parse(input, EXIFR_OPTIONS)
  } catch {
    raw = undefined
  }
  return sanitiseExif(raw ?? {})
}

/** Exported for tests: turns exifr output into JSON-safe, size-capped tags. */
export function sanitiseExif(raw: Record<string, unknown>): SanitisedExif {
  const tags: ExifTags = {}
  for (const [key, value] of Object.entries(raw)) {
    // Numeric keys are tags exifr has no name for; `errors`, `latitude`, `longitude` are its own additions.
    if (!/^[A-Z][A-Za-z0-9]*$/.test(key)) continue
    const safe = jsonValue(key, value)
    if (safe !== undefined) tags[key] = safe
  }
  for (const [dateKey, offsetKey] of Object.entries(OFFSET_OF)) {
    const date = tags[dateKey]
    const offset = tags[offsetKey]
    if (typeof date === 'string' && typeof offset === 'string' && OFFSET.test(offset) && date.length === 19)
      tags[dateKey] = `${date}${offset}`
  }
  const lat = signedDegrees(raw.GPSLatitude, raw.GPSLatitudeRef, 90)
  const lon = signedDegrees(raw.GPSLongitude, raw.GPSLongitudeRef, 180)
  delete tags.GPSLatitude
  delete tags.GPSLongitude
  // The sign now carries the hemisphere; a kept reference would invite applying it twice.
  delete tags.GPSLatitudeRef
  delete tags.GPSLongitudeRef
  if (lat !== undefined && lon !== undefined) {
    tags.GPSLatitude = lat
    tags.GPSLongitude = lon
  }
  capSize(tags, EXIF_MAX_BYTES)
  const exif: ExifTags = {}
  const gps: ExifTags = {}
  for (const [key, value] of Object.entries(tags)) (key.startsWith('GPS') ? gps : exif)[key] = value
  return { exif, gps }
}

function jsonValue(key: string, value: unknown): ExifValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') return text(value)
  if (value instanceof Uint8Array) {
    // Version tags are four ASCII digits ("0232"); other short byte tags are small enumerations.
    if (VERSION_TAGS.has(key) && value.every((b) => b >= 0x30 && b <= 0x39))
      return String.fromCharCode(...value)
    if (value.length === 1) return value[0]!
    return value.length <= MAX_RAW_BYTES ? Array.from(value) : undefined
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const list = Array.from(value as unknown as ArrayLike<number | bigint>, Number)
    return list.length <= MAX_ARRAY && list.every(Number.isFinite) ? list : undefined
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > MAX_ARRAY) return undefined
    const list: (string | number)[] = []
    for (const item of value) {
      if (typeof item === 'number' && Number.isFinite(item)) list.push(item)
      else if (typeof item === 'string') list.push(item.replace(/\0/g, ''))
      else return undefined
    }
    return list
  }
  return undefined
}

function text(value: string): string | undefined {
  const cleaned = value.replace(/\0+$/, '').replace(/\0/g, ' ').trimEnd()
  if (cleaned.trim() === '') return undefined
  const dateTime = EXIF_DATE_TIME.exec(cleaned)
  if (dateTime) {
    // "0000:00:00 00:00:00" is how cameras write "unknown".
    if (/^0+$/.test(dateTime[1]!)) return undefined
    const [, y, mo, d, h, mi, s] = dateTime
    return `${y}-${mo}-${d}T${h}:${mi}:${s}`
  }
  const date = EXIF_DATE.exec(cleaned)
  if (date) return /^0+$/.test(date[1]!) ? undefined : `${date[1]}-${date[2]}-${date[3]}`
  return cleaned
}

function signedDegrees(value: unknown, ref: unknown, max: number): number | undefined {
  let degrees: number | undefined
  if (typeof value === 'number') degrees = value
  else if (Array.isArray(value) && value.length >= 1 && value.every((v) => typeof v === 'number')) {
    const [d = 0, m = 0, s = 0] = value as number[]
    degrees = d + m / 60 + s / 3600
  }
  if (degrees === undefined || !Number.isFinite(degrees) || Math.abs(degrees) > max) return undefined
  const negative = typeof ref === 'string' && /^[SW]/i.test(ref.trim())
  const signed = negative ? -Math.abs(degrees) : degrees
  return Math.round(signed * 1e7) / 1e7
}

/** Drops the longest values first until the JSON of `tags` fits in `maxBytes`. */
function capSize(tags: ExifTags, maxBytes: number): void {
  let total = Buffer.byteLength(JSON.stringify(tags))
  if (total <= maxBytes) return
  const bySize = Object.entries(tags)
    .map(([key, value]) => ({
      key,
      bytes: Buffer.byteLength(`${JSON.stringify(key)}:${JSON.stringify(value)},`),
    }))
    .sort((a, b) => b.bytes - a.bytes)
  for (const { key, bytes } of bySize) {
    if (total <= maxBytes) break
    delete tags[key]
    total -= bytes
  }
}

/** The stored form of an image's tags: JSON text of the public ones, and of the GPS ones (null when none). */
export function storedExif(tags: SanitisedExif): { exif: string; exif_gps: string | null } {
  return {
    exif: JSON.stringify(tags.exif),
    exif_gps: Object.keys(tags.gps).length > 0 ? JSON.stringify(tags.gps) : null,
  }
}

/**
 * The `exif` object of the API from an image row: GPS tags join only when the
 * deployment opts in (EXIF_GPS=true); they are private by default.
 */
export function publicExif(row: { exif: string; exif_gps: string | null }, exifGps: boolean): ExifTags {
  const exif = parseTags(row.exif)
  return exifGps && row.exif_gps ? { ...exif, ...parseTags(row.exif_gps) } : exif
}

/** `publicExif` as JSON text, for a serialiser that splices it in as is. */
export function publicExifJson(row: { exif: string; exif_gps: string | null }, exifGps: boolean): string {
  return exifGps && row.exif_gps ? JSON.stringify(publicExif(row, true)) : row.exif || '{}'
}

function parseTags(json: string): ExifTags {
  try {
    const value: unknown = JSON.parse(json)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as ExifTags) : {}
  } catch {
    return {}
  }
}
