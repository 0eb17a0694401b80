import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import sharp from 'sharp'
import type { BlobStore } from '../../platform/blob-store/blob-store.js'
import type { Db } from '../../platform/db/database.js'
import { AppError, errors } from '../../shared/errors.js'
import type { Logger } from '../../shared/logger.js'
import { decodeOptions } from '../images/analyse.js'
import { CF_IMAGE_ID, type VariantCache } from './variant-cache.js'
import { canonical, chooseFormat, geometry, type OutputFormat, parseVariant } from './variant-options.js'

export interface DeliveryDeps {
  db: Db
  blobs: BlobStore
  cache: VariantCache
  log: Logger
  maxImagePixels: number
  /** Longest output side (default 4096). */
  maxSide?: number
  /** Renders at once; more wait their turn so memory stays bounded (default 2). */
  renderConcurrency?: number
}

export interface Delivery {
  status: 200 | 304
  etag: string
  contentType: string
  /** Set when the format followed the request's Accept. */
  varyAccept: boolean
  body: Buffer | Readable | null
  size: number
}

const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
}

/**
 * Variants of provisioned images for the local provider. The image row is
 * read on every request, so a deleted image answers 404 at once; rendered
 * bytes come from the bounded disk cache when they can. Rendering runs on
 * sharp's threads, a few at a time; identical concurrent requests share one
 * render. Output carries no metadata: sharp strips EXIF, XMP and IPTC unless
 * asked to keep them, and converts to sRGB without embedding a profile.
 * Animated images deliver their first frame.
 */
export class DeliveryService {
  /** Renders since start; a cache hit does not count (tests prove caching with it). */
  renders = 0
  private readonly inflight = new Map<string, Promise<Buffer>>()
  private readonly waiting: (() => void)[] = []
  private active = 0

  constructor(private readonly deps: DeliveryDeps) {}

  async deliver(
    cfImageId: string,
    variant: string,
    request: { accept?: string; ifNoneMatch?: string },
  ): Promise<Delivery> {
    const spec = parseVariant(variant)
    const image = CF_IMAGE_ID.test(cfImageId) ? await this.find(cfImageId) : undefined
    if (!image) throw errors.notFound('image')
    const format = chooseFormat(spec, image.mime, request.accept)
    const key = createHash('sha256')
      .update(`${cfImageId}\n${canonical(spec)}\n${format}`)
      .digest('hex')
      .slice(0, 32)
    const etag = `"${key}"`
    const base = { etag, contentType: CONTENT_TYPES[format], varyAccept: spec.format === 'auto' }
    if (matches(request.ifNoneMatch, etag)) return { ...base, status: 304, body: null, size: 0 }

    const cached = await this.deps.cache.open(cfImageId, key)
    if (cached) {
      const body = cached.handle.createReadStream()
      return { ...base, status: 200, body, size: cached.size }
    }
    let render = this.inflight.get(key)
    if (!render) {
      render = this.render(image, spec, format, key).finally(() => this.inflight.delete(key))
      this.inflight.set(key, render)
    }
    const bytes = await render
    return { ...base, status: 200, body: bytes, size: bytes.length }
  }

  private find(cfImageId: string) {
    return (
      this.deps.db
        .selectFrom('images')
        .innerJoin('files', 'files.id', 'images.file_id')
        .select(['images.cf_image_id', 'images.width', 'images.height', 'files.blob_key', 'files.mime'])
        .where('images.cf_image_id', '=', cfImageId)
        // Images held by another provider are delivered by it, not here.
        .where('images.provider', '=', 'local')
        .executeTakeFirst()
    )
  }

  private async render(
    image: { cf_image_id: string; width: number; height: number; blob_key: string; mime: string },
    spec: ReturnType<typeof parseVariant>,
    format: OutputFormat,
    key: string,
  ): Promise<Buffer> {
    await this.slot()
    try {
      const original = await readAll(
        await this.deps.blobs.get(image.blob_key).catch((err: unknown) => {
          // The file went between the row lookup and the read: the image is gone too.
          throw err instanceof AppError && err.code === 'not_found' ? errors.notFound('image') : err
        }),
      )
      const { resize } = geometry(spec, image.width, image.height, this.deps.maxSide ?? 4096)
      let pipeline = sharp(original, decodeOptions(this.deps.maxImagePixels)).autoOrient()
      if (resize) {
        pipeline = pipeline.resize({
          ...resize,
          background: { r: 255, g: 255, b: 255, alpha: 1 },
          position: 'centre',
        })
      }
      const quality = spec.quality
      if (format === 'jpeg')
        pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: false })
      else if (format === 'png') pipeline = pipeline.png()
      else if (format === 'webp') pipeline = pipeline.webp({ quality })
      // AVIF's default effort takes seconds per megapixel; 2 keeps a large variant to a few seconds.
      else pipeline = pipeline.avif({ quality, effort: 2 })
      const bytes = await pipeline.toBuffer()
      this.renders++
      await this.deps.cache.put(image.cf_image_id, key, bytes)
      return bytes
    } finally {
      this.release()
    }
  }

  private async slot(): Promise<void> {
    if (this.active < (this.deps.renderConcurrency ?? 2)) {
      this.active++
      return
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  private release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.active--
  }
}

/** If-None-Match: `*`, or a list of (possibly weak) tags; a weak comparison is right for a GET. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}
