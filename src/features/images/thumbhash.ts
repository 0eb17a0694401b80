import sharp from 'sharp'
import { rgbaToThumbHash } from 'thumbhash'

/** ThumbHash encodes images of at most 100x100 pixels. */
const MAX_SIDE = 100

/** How to show an image of each EXIF orientation upright: mirrored left to right (or not), then turned clockwise. */
const UPRIGHT: Record<number, { flop: boolean; angle: number }> = {
  2: { flop: true, angle: 0 },
  3: { flop: false, angle: 180 },
  4: { flop: true, angle: 180 },
  5: { flop: true, angle: 270 },
  6: { flop: false, angle: 90 },
  7: { flop: true, angle: 90 },
  8: { flop: false, angle: 270 },
}

/**
 * The base64 ThumbHash of pixels provisioning has already decoded (raw, 8 bits
 * a channel, possibly shrunk): turned upright by the EXIF orientation, reduced
 * to at most 100 px a side, made RGBA, hashed. Null when anything about it
 * fails: a placeholder never fails an image.
 */
export async function thumbhashOf(
  decoded: { data: Buffer; info: { width: number; height: number; channels: number } },
  orientation: number | undefined,
): Promise<string | null> {
  try {
    const { width, height, channels } = decoded.info
    const upright = UPRIGHT[orientation ?? 1] ?? { flop: false, angle: 0 }
    const pixels = sharp(decoded.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } })
      // sharp mirrors before it turns, whatever the order of the calls.
      .flop(upright.flop)
      .rotate(upright.angle)
      .resize(MAX_SIDE, MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    if (channels < 3) pixels.toColourspace('srgb')
    const { data, info } = await pixels.ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64')
  } catch {
    return null
  }
}
