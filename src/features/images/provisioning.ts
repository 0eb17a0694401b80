import type { Executor } from '../../platform/db/executor.js'
import { JobKinds, type JobQueue } from '../../platform/jobs/job-queue.js'

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

/** Marks the file pending and queues its provisioning, in the caller's transaction. */
export async function requestProvisioning(trx: Executor, queue: JobQueue, fileId: string): Promise<void> {
  await trx
    .updateTable('files')
    .set({ image_status: 'pending', image_id: null, image_error: null })
    .where('id', '=', fileId)
    .execute()
  await queue.enqueue(trx, { kind: JobKinds.provision, payload: { fileId } })
}
