import type { Executor } from '../../platform/db/executor.js'
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

/**
 * Queues the provisioning of a file the caller has just made `pending` (an
 * upload inserts it so, a re-provision claims it), in the caller's transaction.
 */
export async function queueProvisioning(trx: Executor, queue: JobQueue, fileId: string): Promise<void> {
  await queue.enqueue(trx, provisioningJob(fileId))
}

/** The job that provisions a file (for a caller that inserts its row itself: JobQueue.jobRow). */
export const provisioningJob = (fileId: string): NewJob => ({ kind: JobKinds.provision, payload: { fileId } })
