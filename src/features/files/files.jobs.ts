import type { BlobStore } from '../../platform/blob-store/blob-store.js'
import { type JobHandler, PermanentJobError } from '../../platform/jobs/job-queue.js'

/**
 * JobKinds.blobDelete: `{key}` removes one file's bytes, `{prefix}` a deleted
 * workspace's folder. Both are idempotent, so a job that runs twice is harmless.
 */
export function blobDeleteHandler(blobs: BlobStore): JobHandler {
  return async (payload) => {
    const { key, prefix } = payload
    if (typeof key === 'string') return blobs.delete(key)
    if (typeof prefix === 'string') return blobs.deletePrefix(prefix)
    throw new PermanentJobError('A blob delete job needs a key or a prefix')
  }
}
