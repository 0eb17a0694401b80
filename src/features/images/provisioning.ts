import type { Executor } from '../../platform/db/executor.js'
import type { FileTable } from '../../platform/db/tables.js'
import { JobKinds, type JobQueue, type NewJob } from '../../platform/jobs/job-queue.js'

/** Sniffed types that the decoder turns into images; everything else (SVG included) is stored only. */
export const PROVISIONABLE_MIMES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'image/heif',
  'image/heic',
])

export const isProvisionable = (mime: string) => PROVISIONABLE_MIMES.has(mime)

/** What a provision job needs of its file, written into the job when it is queued. */
export type FileToProvision = Pick<FileTable, 'id' | 'workspace_id' | 'blob_key' | 'mime' | 'size'>

/**
 * Queues the provisioning of a file the caller has just made `pending` (an
 * upload inserts it so, a re-provision claims it), in the caller's transaction.
 */
export async function queueProvisioning(
  trx: Executor,
  queue: JobQueue,
  file: FileToProvision,
): Promise<void> {
  await queue.enqueue(trx, provisioningJob(file))
}

/**
 * The job that provisions a file (for a caller that inserts its row itself:
 * JobQueue.jobRow). It carries the file's key, type and size, which never
 * change, so the job reads nothing before it decodes; whether the file still
 * waits for an image is settled when the image is written.
 */
export const provisioningJob = (file: FileToProvision): NewJob => ({
  kind: JobKinds.provision,
  payload: {
    fileId: file.id,
    workspaceId: file.workspace_id,
    blobKey: file.blob_key,
    mime: file.mime,
    size: file.size,
  },
})

/** The file a provision job's payload describes; null for a job queued with its id alone (before 2026-12-02). */
export function fileOfJob(payload: Record<string, unknown>): FileToProvision | null {
  const { fileId, workspaceId, blobKey, mime, size } = payload
  if (
    typeof fileId !== 'string' ||
    typeof workspaceId !== 'string' ||
    typeof blobKey !== 'string' ||
    typeof mime !== 'string' ||
    typeof size !== 'number'
  )
    return null
  return { id: fileId, workspace_id: workspaceId, blob_key: blobKey, mime, size }
}
