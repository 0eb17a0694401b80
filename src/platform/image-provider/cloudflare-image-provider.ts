import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Readable } from 'node:stream'
import sharp from 'sharp'
import type { CloudflareConfig } from '../../config.js'
import type { Logger } from '../../shared/logger.js'
import type { BlobStore } from '../blob-store/blob-store.js'
import { PermanentJobError } from '../jobs/job-queue.js'
import {
  type CfImage,
  CloudflareApiError,
  CloudflareClient,
  type CloudflareClientOptions,
} from './cloudflare-client.js'
import type { ImageProvider, ProviderCopy, ProviderUpload } from './image-provider.js'

/** Cloudflare's limits for hosted images, checked before an upload so a file fails with a clear reason. */
export const CLOUDFLARE_LIMITS = {
  bytes: 10 * 1024 * 1024,
  pixels: 100_000_000,
  side: 12_000,
  avifSide: 1_200,
  metadataBytes: 1024,
} as const

const ACCEPTED: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/heic': 'heic',
  'image/heif': 'heif',
  'image/avif': 'avif',
}

export interface CloudflareImageProviderDeps {
  config: CloudflareConfig
  blobs: BlobStore
  /**
   * Keys the custom ids: `cfImageId = HMAC(idSecret, imageId)`, so a retried
   * upload reuses its id (no second copy), ids stay unguessable (128 bits),
   * and only copies made by this deployment are recognised as ours by `list()`.
   */
  idSecret: Buffer
  log?: Logger
  /** Retry timings; tests shorten them. */
  retry?: Pick<CloudflareClientOptions, 'maxAttempts' | 'baseDelayMs' | 'maxRetryAfterMs' | 'timeoutMs'>
}

/** Delivers through Cloudflare Images; bytes are read from the blob store and uploaded with our ids in `metadata`. */
export class CloudflareImageProvider implements ImageProvider {
  readonly name = 'cloudflare' as const
  readonly deliveryBase: string
  private readonly client: CloudflareClient

  constructor(private readonly deps: CloudflareImageProviderDeps) {
    this.deliveryBase = `https://imagedelivery.net/${deps.config.accountHash}/`
    this.client = new CloudflareClient({
      ...deps.config,
      ...deps.retry,
      ...(deps.log ? { log: deps.log } : {}),
    })
  }

  /** The custom id of an image's copy: 32 hex characters, the same on every try. */
  idFor(imageId: string): string {
    return createHmac('sha256', this.deps.idSecret)
      .update(`cloudflare-image:${imageId}`)
      .digest('hex')
      .slice(0, 32)
  }

  async upload(input: ProviderUpload): Promise<{ cfImageId: string }> {
    const id = this.idFor(input.imageId)
    const metadata = JSON.stringify({
      imageId: input.imageId,
      fileId: input.fileId,
      workspaceId: input.workspaceId,
    })
    checkLimits(input, Buffer.byteLength(metadata))
    const bytes = input.bytes ?? (await readAll(await this.deps.blobs.get(input.blobKey)))
    if (bytes.length > CLOUDFLARE_LIMITS.bytes) throw tooLarge(bytes.length)
    await checkFrames(bytes, input)

    const form = new FormData()
    form.set(
      'file',
      new Blob([new Uint8Array(bytes)], { type: input.mime }),
      `${input.imageId}.${ACCEPTED[input.mime]}`,
    )
    form.set('id', id)
    form.set('metadata', metadata)
    form.set('requireSignedURLs', 'false')
    try {
      await this.client.upload(form)
    } catch (err) {
      // A retried upload whose first try landed (a lost reply, a crash before the commit) finds its id taken.
      if (!(err instanceof CloudflareApiError && err.status === 409)) throw permanentIfRefused(err, 'upload')
      const existing = await this.client.get(id).catch((e: unknown) => {
        // Taken a moment ago, gone now (a concurrent delete): a later try uploads afresh.
        if (e instanceof CloudflareApiError && e.status === 404)
          throw new Error(`Cloudflare Images reported id ${id} taken, then not found; will retry`)
        throw permanentIfRefused(e, 'upload')
      })
      const owner = metaOf(existing).imageId
      if (typeof owner === 'string' && owner !== input.imageId)
        throw new PermanentJobError(`Cloudflare Images already holds a different image under id ${id}`)
    }
    return { cfImageId: id }
  }

  async delete(cfImageId: string): Promise<void> {
    try {
      await this.client.delete(cfImageId)
    } catch (err) {
      if (err instanceof CloudflareApiError && err.status === 404) return
      throw permanentIfRefused(err, 'delete')
    }
  }

  deliveryPath(cfImageId: string, variant = 'public'): string {
    // Custom ids may hold '/' (kept as path segments); '%' and other reserved characters must be escaped.
    return `${cfImageId.split('/').map(encodeURIComponent).join('/')}/${encodeURIComponent(variant)}`
  }

  /** Every copy in the account; `imageId` is set only for copies this deployment made (their id proves it). */
  async *list(): AsyncIterable<ProviderCopy> {
    let token: string | null = null
    do {
      const page = await this.client.listPage(1000, token)
      for (const image of page.images ?? []) yield this.copyOf(image)
      token = page.continuation_token ?? null
    } while (token)
  }

  private copyOf(image: CfImage): ProviderCopy {
    const meta = metaOf(image)
    const ours = typeof meta.imageId === 'string' && sameId(this.idFor(meta.imageId), image.id)
    return {
      cfImageId: image.id,
      imageId: ours ? (meta.imageId as string) : null,
      fileId: ours && typeof meta.fileId === 'string' ? meta.fileId : null,
      uploadedAt: image.uploaded ?? null,
    }
  }
}

function metaOf(image: CfImage): Record<string, unknown> {
  const meta = image.meta ?? image.metadata
  return meta && typeof meta === 'object' ? meta : {}
}

function sameId(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

function checkLimits(input: ProviderUpload, metadataBytes: number): void {
  if (!ACCEPTED[input.mime])
    throw new PermanentJobError(
      `Cloudflare Images does not accept ${input.mime} files (it takes JPEG, PNG, GIF, WebP, HEIC and AVIF)`,
    )
  if (input.size > CLOUDFLARE_LIMITS.bytes) throw tooLarge(input.size)
  const side = Math.max(input.width, input.height)
  if (side > CLOUDFLARE_LIMITS.side)
    throw new PermanentJobError(
      `The image is ${input.width}x${input.height} px; Cloudflare Images accepts at most ${CLOUDFLARE_LIMITS.side} px a side`,
    )
  if (input.mime === 'image/avif' && side > CLOUDFLARE_LIMITS.avifSide)
    throw new PermanentJobError(
      `The AVIF image is ${input.width}x${input.height} px; Cloudflare Images accepts AVIF up to ${CLOUDFLARE_LIMITS.avifSide} px a side`,
    )
  if (input.width * input.height > CLOUDFLARE_LIMITS.pixels) throw tooManyPixels(input.width * input.height)
  if (metadataBytes > CLOUDFLARE_LIMITS.metadataBytes)
    throw new PermanentJobError(
      `Image metadata is ${metadataBytes} bytes; Cloudflare Images accepts at most 1024`,
    )
}

/** Animated images count the area of every frame. */
async function checkFrames(bytes: Buffer, input: ProviderUpload): Promise<void> {
  if (input.mime !== 'image/gif' && input.mime !== 'image/webp') return
  const meta = await sharp(bytes).metadata()
  const frames = meta.pages ?? 1
  if (frames <= 1) return
  const area = (meta.width ?? input.width) * (meta.pageHeight ?? meta.height ?? input.height) * frames
  if (area > CLOUDFLARE_LIMITS.pixels) throw tooManyPixels(area, frames)
}

function tooLarge(size: number): PermanentJobError {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  return new PermanentJobError(
    `The file is ${mb(size)}; Cloudflare Images accepts at most ${mb(CLOUDFLARE_LIMITS.bytes)} per image`,
  )
}

function tooManyPixels(area: number, frames = 1): PermanentJobError {
  const n = (x: number) => x.toLocaleString('en-US')
  return new PermanentJobError(
    `The image has ${n(area)} pixels${frames > 1 ? ` over ${frames} frames` : ''}; Cloudflare Images accepts at most ${n(CLOUDFLARE_LIMITS.pixels)} (100 megapixels)`,
  )
}

/** A refusal (4xx) can never succeed: it ends the job with the provider's own words. Anything else stays retryable. */
function permanentIfRefused(err: unknown, what: string): unknown {
  if (err instanceof CloudflareApiError && !err.transient)
    return new PermanentJobError(`Cloudflare Images refused the ${what}: ${err.message}`)
  return err
}

async function readAll(source: Readable | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(source)) return source
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array)
    total += buf.length
    // The declared size was checked; a blob that grew past the limit is not buffered whole.
    if (total > CLOUDFLARE_LIMITS.bytes) {
      source.destroy()
      throw tooLarge(total)
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}
