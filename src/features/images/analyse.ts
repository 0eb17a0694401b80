import sharp, { type Metadata, type OutputInfo } from 'sharp'
import { PermanentJobError } from '../../platform/jobs/job-queue.js'
import { readExif, type SanitisedExif } from './exif.js'
import { thumbhashOf } from './thumbhash.js'

export interface ImageAnalysis {
  /** Display dimensions: after the EXIF orientation (5-8 swap width and height). */
  width: number
  height: number
  format: string
  tags: SanitisedExif
  /** Base64 thumbhash of the decoded pixels, orientation applied; null when it could not be made. */
  thumbhash: string | null
}

/**
 * The decode options every reader of an original uses: libvips' own fail-on
 * level (`warning`) rejects damaged files that would otherwise render as grey
 * bands; sequential access keeps one strip of pixels in memory, not the image.
 */
export const decodeOptions = (maxPixels: number) =>
  ({ failOn: 'warning', limitInputPixels: maxPixels, sequentialRead: true }) as const

/** Up to this many pixels (a few MB of raw pixels at most), analysis decodes without shrinking. */
const SMALL_PIXELS = 512 * 512

/**
 * Proves that `bytes` are an image this service can deliver and measures it.
 * A header is no proof (a truncated file has a perfect one), so every pixel of
 * the first page is decoded; above SMALL_PIXELS the pixels are box-shrunk on
 * the way, which reads them all while keeping memory to a few strips. sharp
 * runs on libuv threads, so the event loop stays free. Anything undecodable
 * is a PermanentJobError with a reason a person can read.
 */
export async function analyseImage(bytes: Buffer, maxPixels: number): Promise<ImageAnalysis> {
  return (isJpeg(bytes) && (await analyseSmallJpeg(bytes, maxPixels))) || analyseAny(bytes, maxPixels)
}

const isJpeg = (bytes: Buffer) =>
  bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff

/** EXIF orientations that turn the image a quarter: its display width is its stored height. */
const QUARTER_TURNS = new Set([5, 6, 7, 8])

/**
 * A JPEG of up to SMALL_PIXELS in one decode instead of a header read and a
 * decode (each a trip through libuv's and libvips' threads): the decode gives
 * its size, and its EXIF, orientation included, is read from the file, where
 * a JPEG keeps it. Null for anything larger or undecodable, which the general
 * path then measures, or refuses with its reason. Exported for tests.
 */
export async function analyseSmallJpeg(bytes: Buffer, maxPixels: number): Promise<ImageAnalysis | null> {
  let decoded: { data: Buffer; info: OutputInfo }
  try {
    const decode = sharp(bytes, decodeOptions(Math.min(maxPixels, SMALL_PIXELS)))
    decoded = await decode.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  } catch {
    return null
  }
  const size = decoded.info
  const tags = await readExif(bytes)
  const orientation = tags.exif.Orientation as number
  const turned = QUARTER_TURNS.has(orientation)
  return {
    width: turned ? size.height : size.width,
    height: turned ? size.width : size.height,
    format: 'jpeg',
    tags,
    thumbhash: thumbhashOf(decoded, orientation),
  }
}

/** Any format: the header, then the decode. Exported for tests, which hold the JPEG path to it. */
export async function analyseAny(bytes: Buffer, maxPixels: number): Promise<ImageAnalysis> {
  let meta: Metadata
  try {
    // Header only, without the pixel limit, so an oversized file is reported with its size.
    meta = await sharp(bytes, { ...decodeOptions(maxPixels), limitInputPixels: false }).metadata()
  } catch (err) {
    throw new PermanentJobError(headerFailure(err))
  }
  const { width, height } = meta
  if (!width || !height) throw new PermanentJobError('The image has no dimensions')
  if (width * height > maxPixels)
    throw new PermanentJobError(
      `The image is ${width}x${height} (${width * height} pixels), over the limit of ${maxPixels} pixels`,
    )
  let decoded: { data: Buffer; info: OutputInfo }
  try {
    const decode = sharp(bytes, decodeOptions(maxPixels))
    // A small image decodes straight to its pixels: below this size a shrink costs libvips more.
    if (width * height > SMALL_PIXELS)
      decode.resize({ width: Math.ceil(width / 16), kernel: 'linear', fastShrinkOnLoad: false })
    decoded = await decode.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  } catch (err) {
    throw new PermanentJobError(decodeFailure(err))
  }
  const display = meta.autoOrient ?? { width, height }
  return {
    width: display.width,
    height: display.height,
    format: meta.format,
    tags: await readExif(bytes, meta.exif),
    thumbhash: thumbhashOf(decoded, meta.orientation),
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return (message.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 200)
}

function headerFailure(err: unknown): string {
  const message = firstLine(err)
  if (/unsupported image format/i.test(message))
    return 'The file is not in an image format that can be decoded'
  if (/corrupt header/i.test(message)) {
    const detail = message.replace(/^.*corrupt header:?\s*/i, '')
    return `The image header is corrupt${detail ? ` (${detail})` : ''}`
  }
  return `The image header could not be read: ${message || 'unknown error'}`
}

function decodeFailure(err: unknown): string {
  const message = firstLine(err)
  if (/pixel limit/i.test(message)) return 'The image exceeds the pixel limit'
  if (/failOn/i.test(message))
    return 'The image could not be decoded: the decoder reported damaged or unsupported data'
  return `The image could not be decoded: ${message || 'unknown error'}`
}
