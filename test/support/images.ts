import sharp from 'sharp'
import { type ExifInput, exifTiff } from './exif-writer.js'
import {
  exifSegment,
  iptcSegment,
  jpegClaiming,
  jpegWith,
  paletteBmp,
  webpWithExif,
  xmpSegment,
} from './image-bytes.js'

/**
 * Every image the suite uploads, made at test time with sharp (and, where
 * sharp cannot, the byte writers of ./image-bytes.ts), so that `npm test`
 * needs nothing outside the repository. Each has the properties its doc
 * comment states and tests assert; each is made once per process, on first
 * use, so a test file pays only for what it asks for. Real-world files are
 * for test/corpus/ alone.
 */

/** Makes a value on first call, then hands out the same promise. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => {
    made ??= make()
    return made
  }
}

/** `once` for a function of one key. */
function onceEach<K, T>(make: (key: K) => Promise<T>): (key: K) => Promise<T> {
  const made = new Map<K, Promise<T>>()
  return (key) => {
    if (!made.has(key)) made.set(key, make(key))
    return made.get(key)!
  }
}

/**
 * The pixels of a made-up photograph, RGB, the same on every run: red grows
 * to the right and green downwards (so any turn or mirror of it shows), blue
 * waves softly, and a fine grain from a seeded generator gives JPEG sizes and
 * decode costs of a camera's photo rather than of a flat fill.
 */
export function scene(width: number, height: number): Buffer {
  const pixels = new Uint8ClampedArray(width * height * 3)
  const waveX = Float64Array.from({ length: width }, (_, x) => Math.sin(x / 37))
  const waveY = Float64Array.from({ length: height }, (_, y) => Math.cos(y / 53))
  let seed = 0x2545f491
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      // xorshift32: a fixed sequence, so the same bytes on every run.
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      const grain = ((seed >>> 0) / 2 ** 32 - 0.5) * 8
      pixels[i] = (255 * x) / width + grain
      pixels[i + 1] = (255 * y) / height + grain
      pixels[i + 2] = 128 + 100 * waveX[x]! * waveY[y]! + grain
    }
  }
  return Buffer.from(pixels.buffer)
}

const sceneImage = (width: number, height: number) =>
  sharp(scene(width, height), { raw: { width, height, channels: 3 } })

const sceneJpeg = (width: number, height: number) =>
  sceneImage(width, height).jpeg({ quality: 90 }).toBuffer()

// ---------------------------------------------------------------- photographs

/** A 2725x2225 photograph of about 700 KB, no metadata (the size of sharp's test photo 2569067123_aca715a2ee_o.jpg). */
export const photo = once(() => sceneJpeg(2725, 2225))

/** The photo at 20 megapixels (5472x3648, a common camera size), quality 92, as a camera writes it. */
export const photo20mp = once(async () =>
  sharp(await photo())
    .resize(5472, 3648, { fit: 'fill' })
    .jpeg({ quality: 92 })
    .toBuffer(),
)

/** The photo's first 10,000 bytes: a perfect header, then the data stops (libjpeg: "premature end"). */
export const truncatedJpeg = once(async () => (await photo()).subarray(0, 10_000))

/** A 64x64 JPEG of a few hundred bytes whose header claims 20000x14000 (280 megapixels). */
export const oversizedJpeg = once(async () => jpegClaiming(await sceneJpeg(64, 64), 20_000, 14_000))

/** A plain 320x240 JPEG. */
export const smallJpeg = once(() => sceneJpeg(320, 240))

// ------------------------------------------------------------------ orientation

export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8

/**
 * How a viewer shows stored pixels for each EXIF orientation: mirrored left
 * to right (or not), then turned clockwise (EXIF 2.32, tag 0x0112).
 */
const VIEWED: Record<Orientation, { mirror: boolean; turn: number }> = {
  1: { mirror: false, turn: 0 },
  2: { mirror: true, turn: 0 },
  3: { mirror: false, turn: 180 },
  4: { mirror: true, turn: 180 },
  5: { mirror: true, turn: 270 },
  6: { mirror: false, turn: 90 },
  7: { mirror: true, turn: 90 },
  8: { mirror: false, turn: 270 },
}

/**
 * A JPEG with EXIF orientation `orientation` that displays as the upright
 * `width`x`height` scene: its pixels are stored as the view undone (turned
 * back, then mirrored), so orientations 5-8 store `height`x`width`.
 */
export async function orientedJpeg(width: number, height: number, orientation: Orientation): Promise<Buffer> {
  const { mirror, turn } = VIEWED[orientation]
  const turned = await sceneImage(width, height)
    .rotate((360 - turn) % 360)
    .raw()
    .toBuffer({ resolveWithObject: true })
  const stored = await sharp(turned.data, { raw: turned.info }).flop(mirror).jpeg({ quality: 90 }).toBuffer()
  return jpegWith(stored, exifSegment(exifTiff({ Orientation: orientation })))
}

/** Like sharp's Landscape_N.jpg: displays as 600x450 (over the 512x512 of analysis' short path). */
export const landscape = onceEach((orientation: Orientation) => orientedJpeg(600, 450, orientation))

/** Like sharp's Portrait_N.jpg: displays as 450x600, so Portrait 6 stores 600x450 turned a quarter. */
export const portrait = onceEach((orientation: Orientation) => orientedJpeg(450, 600, orientation))

// ------------------------------------------------------------------------ EXIF

/** A small JPEG (64x48) carrying `tags` in its EXIF segment. */
export async function taggedJpeg(tags: ExifInput, width = 64, height = 48): Promise<Buffer> {
  return jpegWith(await sceneJpeg(width, height), exifSegment(exifTiff(tags)))
}

/**
 * What an iPhone 7 writes (as in ExifTool's Apple.jpg): camera and lens,
 * rationals (ExposureTime, FNumber, FocalLength), dates with no zone, a
 * binary MakerNote and UserComment, and GPS at 53°22'58.25"N 1°27'24.04"W
 * (53.3828472, -1.4566778).
 */
export const CAMERA_TAGS: ExifInput = {
  Make: 'Apple',
  Model: 'iPhone 7',
  Orientation: 1,
  Software: '10.0.2',
  ModifyDate: '2016:09:28 18:18:05',
  ExposureTime: 0.05,
  FNumber: 1.8,
  ISO: 40,
  ExifVersion: Buffer.from('0221'),
  DateTimeOriginal: '2016:09:28 18:18:05',
  CreateDate: '2016:09:28 18:18:05',
  FocalLength: 3.99,
  MakerNote: Buffer.alloc(2048, 0xa5),
  UserComment: Buffer.concat([Buffer.from('ASCII\0\0\0'), Buffer.from('a comment')]),
  LensMake: 'Apple',
  LensModel: 'iPhone 7 back camera 3.99mm f/1.8',
  GPSLatitudeRef: 'N',
  GPSLatitude: [53, 22, 58.25],
  GPSLongitudeRef: 'W',
  GPSLongitude: [1, 27, 24.04],
  GPSAltitudeRef: 0,
  GPSAltitude: 72.37,
}

/** A 64x48 photo with CAMERA_TAGS as EXIF, plus an XMP packet and an IPTC caption. */
export const cameraJpeg = once(async () =>
  jpegWith(
    await sceneJpeg(64, 48),
    exifSegment(exifTiff(CAMERA_TAGS)),
    xmpSegment(
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>test</rdf:li>' +
        '</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>',
    ),
    iptcSegment('A caption for the agencies'),
  ),
)

/**
 * An older camera's photo (as in ExifTool's GPS.jpg): 120x80, FUJIFILM, a
 * date with its zone (+01:00), GPS at 54°59'22.8"N 1°54'51"W (54.9896667,
 * -1.9141667), and an IPTC caption next to the EXIF.
 */
export const GPS_TAGS: ExifInput = {
  ImageDescription: 'Communications',
  Make: 'FUJIFILM',
  Model: 'FinePixS1Pro',
  Orientation: 1,
  FNumber: 8,
  DateTimeOriginal: '2002:07:13 15:58:28',
  OffsetTimeOriginal: '+01:00',
  GPSVersionID: [2, 0, 0, 0],
  GPSLatitudeRef: 'N',
  GPSLatitude: [54, 59, 22.8],
  GPSLongitudeRef: 'W',
  GPSLongitude: [1, 54, 51],
}

export const gpsJpeg = once(async () =>
  jpegWith(await sceneJpeg(120, 80), exifSegment(exifTiff(GPS_TAGS)), iptcSegment('Communications')),
)

/** A 16x8 WebP with an EXIF chunk naming its Artist "me" (as in ExifTool's RIFF.webp). */
export const exifWebp = once(async () => {
  const simple = await sceneImage(16, 8).webp().toBuffer()
  return webpWithExif(simple, exifTiff({ Artist: 'me' }), 16, 8)
})

// ----------------------------------------------------------- other raster types

/** The frame colours of animatedGif(), first to last. */
export const ANIMATION_FRAMES: readonly (readonly [number, number, number])[] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [0, 128, 128],
  [170, 110, 40],
]

/** A 370x285 GIF of 10 frames, each one flat colour of ANIMATION_FRAMES, looping 3 times. */
export const animatedGif = once(async () => {
  const [width, height] = [370, 285]
  const frames = Buffer.concat(
    ANIMATION_FRAMES.map((rgb) => Buffer.alloc(width * height * 3).fill(Buffer.from(rgb))),
  )
  return sharp(frames, {
    raw: { width, height: height * ANIMATION_FRAMES.length, channels: 3, pageHeight: height },
  })
    .gif({ loop: 3, delay: ANIMATION_FRAMES.map(() => 300) })
    .toBuffer()
})

/** One 23x42 picture in several formats, as Debian's SDL2_image samples hold one. */
const sample = () => sceneImage(23, 42)

/** A still 23x42 GIF of at most 16 palette colours, no metadata. */
export const paletteGif = once(() => sample().gif({ colours: 16 }).toBuffer())

/** A 23x42 lossy WebP (a simple VP8 file), no metadata. */
export const sampleWebp = once(() => sample().webp().toBuffer())

/** A 23x42 AVIF, encoded at the least effort (it is the slowest format to write). */
export const sampleAvif = once(() => sample().avif({ effort: 0 }).toBuffer())

/** A 23x42 RGB TIFF, LZW-compressed. */
export const sampleTiff = once(() => sample().tiff({ compression: 'lzw' }).toBuffer())

/** A 1-bit 256x128 TIFF in CCITT group 4, as fax machines and scanners write them. */
export const faxTiff = once(() =>
  sceneImage(256, 128).toColourspace('b-w').tiff({ compression: 'ccittfax4', bitdepth: 1 }).toBuffer(),
)

/** A 23x42 BMP with an 8-bit palette of 4 colours (libvips reads no BMP: the service stores it as a file). */
export const sampleBmp = once(async () => {
  const [width, height] = [23, 42]
  const indexes = Uint8Array.from(
    { length: width * height },
    (_, i) => ((i % width) >> 3) + (i >= width * 21 ? 2 : 0),
  )
  return paletteBmp(width, height, indexes, [
    [51, 153, 51],
    [255, 255, 255],
    [200, 40, 40],
    [20, 20, 120],
  ])
})

/** 32x32 PNGs of the colour types PngSuite's basn* files cover. */
export type PngKind = 'bilevel' | 'grey' | 'rgb' | 'rgba'

/**
 * bilevel: a 2-colour palette, which libvips writes at 1 bit per pixel;
 * grey: 8-bit greyscale; rgb: 8-bit truecolour; rgba: truecolour with an
 * alpha channel fading left to right.
 */
export const samplePng = onceEach((kind: PngKind): Promise<Buffer> => {
  const image = sceneImage(32, 32)
  if (kind === 'bilevel') return image.png({ palette: true, colours: 2 }).toBuffer()
  if (kind === 'grey') return image.toColourspace('b-w').png().toBuffer()
  if (kind === 'rgb') return image.png().toBuffer()
  const alpha = Buffer.from(Array.from({ length: 32 * 32 }, (_, i) => (i % 32) * 8))
  return image
    .joinChannel(alpha, { raw: { width: 32, height: 32, channels: 1 } })
    .png()
    .toBuffer()
})

// ----------------------------------------------------------------- markup

/** The simplest SVG: the root element first. */
export const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8">\n  <circle r="3.75" cx="4" cy="4" fill="deeppink"/>\n</svg>\n'

/**
 * An SVG whose root comes late: an XML declaration, a long comment and a
 * DOCTYPE first, then a root element spread over several lines (as in the
 * W3C test suite's struct-image-04-t.svg).
 */
export const SVG_WITH_PROLOG = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  `<!--${' = a comment as long as a licence header = '.repeat(40)}-->`,
  '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">',
  '<svg version="1.2" baseProfile="tiny" width="100%" height="100%"',
  '  viewBox="0 0 480 360" xmlns="http://www.w3.org/2000/svg"',
  '  xmlns:xlink="http://www.w3.org/1999/xlink">',
  '  <rect width="480" height="360" fill="green"/>',
  '</svg>',
  '',
].join('\n')
