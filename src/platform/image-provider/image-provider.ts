import type { Readable } from 'node:stream'

export interface ProviderUpload {
  imageId: string
  fileId: string
  workspaceId: string
  blobKey: string
  mime: string
  size: number
  width: number
  height: number
  /** The original, when the caller already holds it; a provider that needs the bytes reads `blobKey` otherwise. */
  bytes?: Buffer
}

/** One copy held by a provider, as the orphan sweep sees it. */
export interface ProviderCopy {
  cfImageId: string
  /** Our image id, when the copy is known to be this deployment's; null for copies to leave alone. */
  imageId: string | null
  fileId?: string | null
  /** ISO-8601; lets the sweep spare copies whose provisioning may still be committing. */
  uploadedAt?: string | null
}

/**
 * Where provisioned images are delivered from. `upload` is idempotent for the
 * same `imageId` (a retried job must not create a second copy); `delete`
 * treats an unknown copy as already deleted.
 */
export interface ImageProvider {
  readonly name: 'local' | 'cloudflare'
  upload(input: ProviderUpload): Promise<{ cfImageId: string }>
  delete(cfImageId: string): Promise<void>
  /**
   * Where variants are delivered from, as configured (`PUBLIC_URL`, the account
   * hash): a variant's URL is this base, then its `deliveryPath`. Reads take the
   * base as it is configured now; an image's path is stored when it is provisioned.
   */
  readonly deliveryBase: string
  /** A variant's path below `deliveryBase`: the escaped id, then the variant; the same on every node, for good. */
  deliveryPath(cfImageId: string, variant?: string): string
  /** Provider copies, for the orphan sweep; optional for providers that keep no copy. */
  list?(): AsyncIterable<ProviderCopy>
}

/** The delivery URL of a variant, as configured now. */
export function deliveryUrl(provider: ImageProvider, cfImageId: string, variant = 'public'): string {
  return provider.deliveryBase + provider.deliveryPath(cfImageId, variant)
}

export type { Readable }
