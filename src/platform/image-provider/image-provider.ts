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
  /** The delivery URL of a variant, computed at read time. */
  url(cfImageId: string, variant?: string): string
  /** Provider copies, for the orphan sweep; optional for providers that keep no copy. */
  list?(): AsyncIterable<{ cfImageId: string; imageId: string | null }>
}

export type { Readable }
