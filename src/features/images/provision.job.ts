import type { Readable } from 'node:stream'
import type { BlobStore } from '../../platform/blob-store/blob-store.js'
import type { Capabilities, Db } from '../../platform/db/database.js'
import type { ImageProvider } from '../../platform/image-provider/image-provider.js'
import { type JobHandler, type JobQueue, PermanentJobError } from '../../platform/jobs/job-queue.js'
import type { JobFailureHook } from '../../platform/jobs/worker.js'
import { AppError } from '../../shared/errors.js'
import type { Logger } from '../../shared/logger.js'
import { analyseImage, type ImageAnalysis } from './analyse.js'
import { storedExif } from './exif.js'
import { ProvisionWrites } from './provision-writes.js'
import { type FileToProvision, fileOfJob } from './provisioning.js'

export interface ProvisionDeps {
  db: Db
  capabilities: Capabilities
  /** Where the jobs' ends go, within the statement that writes their images. */
  queue: JobQueue
  blobs: BlobStore
  provider: ImageProvider
  log: Logger
  maxImagePixels: number
  now?: () => number
}

/** For a job queued with the file's id alone: the file, when it still waits for an image. */
async function waitingFile(db: Db, fileId: string): Promise<FileToProvision | null> {
  const file = await db
    .selectFrom('files')
    .leftJoin('images', 'images.file_id', 'files.id')
    .select([
      'files.id',
      'files.workspace_id',
      'files.blob_key',
      'files.mime',
      'files.size',
      'images.id as image',
    ])
    .where('files.id', '=', fileId)
    .where('files.image_status', '=', 'pending')
    .executeTakeFirst()
  return file && file.image === null ? file : null
}

/**
 * JobKinds.provision (see provisioningJob): decodes the original, measures
 * it, reads its EXIF, hands it to the provider and inserts the image row.
 * Idempotent: the image id comes from the job (a retried or re-claimed job
 * uploads under the same id, so the provider keeps one copy), and the row
 * insert is conditional on the file still waiting, so a job that runs twice
 * leaves one image, and a file deleted meanwhile none (its provider copy is
 * removed again). The row and the job's end commit together, batched with
 * other jobs' results that are ready at the same time (ProvisionWrites).
 */
export function provisionHandler(deps: ProvisionDeps): JobHandler {
  const writes = new ProvisionWrites(deps.db, deps.capabilities, deps.queue, deps.log)
  return async (payload, job, run) => {
    const fileId = payload.fileId
    if (typeof fileId !== 'string') throw new PermanentJobError('A provision job needs a fileId')
    const file = fileOfJob(payload) ?? (await waitingFile(deps.db, fileId))
    // Deleted, already provisioned, or taken back (image deleted): nothing left to do.
    if (!file) return

    let result: { imageId: string; cfImageId: string; inserted: boolean }
    const started = performance.now()
    const ms = () => Math.round(performance.now() - started)
    const timings: Record<string, number> = {}
    try {
      // Job ids and image ids share the TypeID shape: one job, one image id, on every attempt.
      const imageId = `img_${job.id.slice(job.id.indexOf('_') + 1)}`
      const { analysis, cfImageId } = await decodeAndUpload(deps, { ...file, imageId }, timings, ms)
      // The original is dropped: waiting on the write costs no CPU or memory, so another job may start.
      run?.yieldSlot()
      const inserted = await writes.write(
        {
          id: imageId,
          file_id: fileId,
          workspace_id: file.workspace_id,
          provider: deps.provider.name,
          cf_image_id: cfImageId,
          url_path: deps.provider.deliveryPath(cfImageId),
          width: analysis.width,
          height: analysis.height,
          size: file.size,
          ...storedExif(analysis.tags),
          thumbhash: analysis.thumbhash,
          created_at: new Date(deps.now?.() ?? Date.now()).toISOString(),
        },
        run,
      )
      result = { imageId, cfImageId, inserted }
    } catch (err) {
      // A file that no longer waits (deleted, with its bytes) leaves nothing to do, nor to fail.
      if (err instanceof PermanentJobError && !(await markFailed(deps.db, fileId, err.message))) return
      throw err
    }
    deps.log.debug({ fileId, imageId: result.imageId, ...timings, totalMs: ms() }, 'provisioned')
    if (!result.inserted) {
      // The file went (or got another image) while we worked: our copy has no row to serve it.
      const row = await deps.db
        .selectFrom('images')
        .select('id')
        .where('cf_image_id', '=', result.cfImageId)
        .executeTakeFirst()
      if (!row) await deps.provider.delete(result.cfImageId)
    }
  }
}

/**
 * Reads the original, analyses it and hands it to the provider. The bytes live
 * only in here, so a job waiting on its write afterwards no longer holds them.
 */
async function decodeAndUpload(
  deps: ProvisionDeps,
  file: FileToProvision & { imageId: string },
  timings: Record<string, number>,
  ms: () => number,
): Promise<{ analysis: ImageAnalysis; cfImageId: string }> {
  const bytes = await readOriginal(deps.blobs, file.blob_key, file.size)
  timings.readMs = ms()
  const analysis = await analyseImage(bytes, deps.maxImagePixels)
  timings.analyseMs = ms()
  const { cfImageId } = await deps.provider.upload({
    imageId: file.imageId,
    fileId: file.id,
    workspaceId: file.workspace_id,
    blobKey: file.blob_key,
    mime: file.mime,
    size: file.size,
    width: analysis.width,
    height: analysis.height,
    bytes,
  })
  return { analysis, cfImageId }
}

/** After the last retry of a transient failure: the file says why instead of staying pending. */
export function provisionFailureHook(db: Db): JobFailureHook {
  return async (payload, reason) => {
    if (typeof payload.fileId === 'string') await markFailed(db, payload.fileId, reason)
  }
}

/** JobKinds.providerDelete `{provider, cfImageId}`: an unknown copy counts as deleted. */
export function providerDeleteHandler(providers: ReadonlyMap<string, ImageProvider>): JobHandler {
  return async (payload) => {
    const { provider, cfImageId } = payload
    if (typeof provider !== 'string' || typeof cfImageId !== 'string')
      throw new PermanentJobError('A provider delete job needs a provider and a cfImageId')
    const target = providers.get(provider)
    if (!target) throw new PermanentJobError(`The image provider '${provider}' is not configured here`)
    await target.delete(cfImageId)
  }
}

/** Records why on a file that still waits for its image; false when none does. */
async function markFailed(db: Db, fileId: string, reason: string): Promise<boolean> {
  const { numUpdatedRows } = await db
    .updateTable('files')
    .set({ image_status: 'failed', image_id: null, image_error: reason })
    .where('id', '=', fileId)
    .where('image_status', '=', 'pending')
    .executeTakeFirst()
  return numUpdatedRows > 0
}

/** The whole original: sharp needs it in one piece, and the upload limit bounds it. */
async function readOriginal(blobs: BlobStore, key: string, size: number): Promise<Buffer> {
  let stream: Readable
  try {
    stream = await blobs.get(key)
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found')
      throw new PermanentJobError('The stored bytes of the file are missing')
    throw err
  }
  const bytes = Buffer.allocUnsafe(size)
  let filled = 0
  for await (const chunk of stream) {
    const part = chunk as Uint8Array
    if (filled + part.length > size) {
      stream.destroy()
      throw new PermanentJobError('The stored bytes of the file do not match its size')
    }
    bytes.set(part, filled)
    filled += part.length
  }
  return filled === size ? bytes : bytes.subarray(0, filled)
}
