import { createHmac } from 'node:crypto'
import type { ImageProvider, ProviderUpload } from './image-provider.js'

/** Where the local provider keeps what it derives from an image: its rendered variants. */
export interface LocalVariantStore {
  /** Marks the image as held (idempotent). */
  hold(cfImageId: string): Promise<void>
  /** Drops everything held for the image (idempotent). */
  drop(cfImageId: string): Promise<void>
}

export interface LocalImageProviderDeps {
  /** `PUBLIC_URL`: delivery URLs are `${publicUrl}/cdn/${cfImageId}/${variant}`. */
  publicUrl: string
  /**
   * Keys the capability ids: `cfImageId = HMAC(idSecret, imageId)`, so a
   * retried upload gets the same id while ids stay unguessable (128 bits).
   */
  idSecret: Buffer
  variants: LocalVariantStore
}

/**
 * The embedded provider: Pictura delivers images itself (GET /cdn/...). It
 * keeps no second copy of the bytes; variants are rendered from the original
 * in the blob store and cached on disk, and a delete drops that cache.
 */
export class LocalImageProvider implements ImageProvider {
  readonly name = 'local' as const
  readonly deliveryBase: string

  constructor(private readonly deps: LocalImageProviderDeps) {
    this.deliveryBase = `${deps.publicUrl}/cdn/`
  }

  idFor(imageId: string): string {
    return createHmac('sha256', this.deps.idSecret)
      .update(`local-image:${imageId}`)
      .digest('hex')
      .slice(0, 32)
  }

  async upload(input: ProviderUpload): Promise<{ cfImageId: string }> {
    const cfImageId = this.idFor(input.imageId)
    await this.deps.variants.hold(cfImageId)
    return { cfImageId }
  }

  async delete(cfImageId: string): Promise<void> {
    await this.deps.variants.drop(cfImageId)
  }

  deliveryPath(cfImageId: string, variant = 'public'): string {
    // The ids this provider makes are hex, and images are stored with the path of `public`: nothing to escape.
    const options = variant === 'public' ? variant : variantPath(variant)
    const id = UNRESERVED.test(cfImageId) ? cfImageId : encodeURIComponent(cfImageId)
    return `${id}/${options}`
  }
}

/** Characters encodeURIComponent leaves as they are. */
const UNRESERVED = /^[\w.!~*'()-]*$/

/** Flexible variants read as Cloudflare writes them (w=640,fit=cover): '=' and ',' are fine in a path. */
function variantPath(variant: string): string {
  const encoded = encodeURIComponent(variant)
  return encoded.includes('%') ? encoded.replace(/%3D/g, '=').replace(/%2C/g, ',') : encoded
}
