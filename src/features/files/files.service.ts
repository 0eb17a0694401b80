import type { Readable } from 'node:stream'
import type { Ctx } from '../../http/context.js'
import type { BlobStore } from '../../platform/blob-store/blob-store.js'
import type { Capabilities, Db } from '../../platform/db/database.js'
import { isDatabaseUnavailable } from '../../platform/db/errors.js'
import type { Executor } from '../../platform/db/executor.js'
import { mapPage, type Page, type PageRequest } from '../../platform/db/statements.js'
import { JobKinds, type JobQueue } from '../../platform/jobs/job-queue.js'
import type { Clock } from '../../shared/clock.js'
import { AppError, errors } from '../../shared/errors.js'
import { isId, newId } from '../../shared/ids.js'
import type { Logger } from '../../shared/logger.js'
import { ImagesRepository } from '../images/images.repository.js'
import { isProvisionable, provisioningJob, queueProvisioning } from '../images/provisioning.js'
import type { Access } from '../workspaces/access.js'
import { safeFileName } from './file-name.js'
import { type FileFilters, type FileRow, FilesRepository } from './files.repository.js'
import { type FileObject, toFile } from './files.schemas.js'
import { SNIFF_BYTES, sniffMime } from './sniff.js'
import { feed, HeadSampler } from './upload-stream.js'

/** An upload's bytes as the HTTP layer found them, opened only once the caller may upload. */
export interface UploadBody {
  stream: Readable
  /** The multipart part's filename, if any. */
  filename?: string
}

export interface FilesDeps {
  db: Db
  capabilities: Capabilities
  blobs: BlobStore
  queue: JobQueue
  access: Access
  clock: Clock
  log: Logger
  maxUploadBytes: number
}

export class FilesService {
  private readonly repo: FilesRepository
  private readonly images = new ImagesRepository()

  constructor(private readonly deps: FilesDeps) {
    this.repo = new FilesRepository(deps.db, deps.capabilities)
  }

  /**
   * Streams the body into the blob store (hashing and sampling its head on the
   * way), sniffs the type, then in one transaction records the file, counts it
   * and, for a raster image, queues its provisioning. Nothing is kept when any
   * step fails: the blob store drops partial writes, and a stored blob whose
   * row could not be written is deleted here.
   */
  async upload(
    ctx: Ctx,
    input: { workspaceId: string; name?: string },
    openBody: () => Promise<UploadBody>,
  ): Promise<FileObject> {
    const { blobs, queue, access, clock, maxUploadBytes } = this.deps
    await access.workspace(ctx, input.workspaceId, 'editor', 'workspace')
    const body = await openBody()
    const id = newId('fil')
    const key = `${input.workspaceId}/${id}`
    const sampler = new HeadSampler(SNIFF_BYTES)
    feed(body.stream, sampler)
    const stored = await blobs.put(key, sampler, { maxBytes: maxUploadBytes })
    try {
      const mime = await sniffMime(sampler.head())
      const row: FileRow = {
        id,
        workspace_id: input.workspaceId,
        name: safeFileName(input.name) ?? safeFileName(body.filename) ?? id,
        mime,
        size: stored.size,
        sha256: stored.sha256,
        blob_key: key,
        created_at: clock.now().toISOString(),
        created_by: ctx.principal.userId,
        image_status: isProvisionable(mime) ? 'pending' : 'none',
        image_id: null,
        image_error: null,
      }
      const job = row.image_status === 'pending' ? queue.jobRow(provisioningJob(row)) : undefined
      if (!(await this.repo.insertUpload(row, job))) throw errors.notFound('workspace')
      if (job) queue.notify(job)
      return toFile(row)
    } catch (err) {
      // A connection lost around the commit leaves its outcome unknown: the row may exist, so its bytes stay.
      if (isDatabaseUnavailable(err)) this.deps.log.warn({ key }, 'upload kept its blob: the database failed')
      else
        await blobs.delete(key).catch((e) => this.deps.log.error({ err: e, key }, 'orphan blob not deleted'))
      throw err
    }
  }

  async list(
    ctx: Ctx,
    req: PageRequest,
    query: { workspaceId?: string; mime?: string; sha256?: string },
  ): Promise<Page<FileObject>> {
    const { principal } = ctx
    let scope: FileFilters['scope']
    if (query.workspaceId !== undefined) {
      await this.deps.access.workspace(ctx, query.workspaceId, 'viewer', 'workspace')
      scope = { kind: 'workspace', workspaceId: query.workspaceId }
    } else {
      scope = principal.role === 'admin' ? { kind: 'all' } : { kind: 'member', userId: principal.userId }
    }
    const filters: FileFilters = {
      scope,
      mimePrefix: query.mime?.toLowerCase(),
      sha256: query.sha256?.toLowerCase(),
      ids: req.ids,
    }
    return mapPage(await this.repo.page(filters, req), toFile)
  }

  async get(ctx: Ctx, id: string): Promise<FileObject> {
    return toFile(await this.visible(ctx, id, 'viewer'))
  }

  /** The row of a file the caller may read, for a download. */
  async forDownload(ctx: Ctx, id: string): Promise<FileRow> {
    return this.visible(ctx, id, 'viewer')
  }

  /** The stored bytes of a file (or an inclusive range of them). */
  async content(file: FileRow, range?: { start: number; end: number }): Promise<Readable> {
    try {
      return await this.deps.blobs.get(file.blob_key, range)
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        this.deps.log.error({ fileId: file.id, key: file.blob_key }, 'file row without its blob')
        throw new AppError('not_found', 'File content not found')
      }
      throw err
    }
  }

  /**
   * Removes the file row, its image row and the counters in one transaction;
   * the bytes and the provider's copy go through jobs queued in the same
   * transaction, so a crash never strands them.
   */
  async delete(ctx: Ctx, id: string): Promise<{ success: true }> {
    await this.visible(ctx, id, 'editor')
    const { db, queue } = this.deps
    const deleted = await db.transaction().execute(async (trx) => {
      const file = await this.repo.delete(trx, id)
      if (!file) return false
      const image = await trx.selectFrom('images').select('id').where('file_id', '=', id).executeTakeFirst()
      const imageRow = image ? await this.images.delete(trx, image.id) : undefined
      if (imageRow) {
        await queue.enqueue(trx, {
          kind: JobKinds.providerDelete,
          payload: { provider: imageRow.provider, cfImageId: imageRow.cf_image_id },
        })
      }
      await queue.enqueue(trx, { kind: JobKinds.blobDelete, payload: { key: file.blob_key } })
      return true
    })
    if (!deleted) throw errors.notFound('file')
    return { success: true }
  }

  /**
   * Provisions (again) the image of a file that has none: after a delete or a
   * failure (POST /api/images). Of two concurrent requests only one wins.
   */
  async provision(ctx: Ctx, fileId: string): Promise<FileObject> {
    const { db, queue } = this.deps
    const file = await this.visible(ctx, fileId, 'editor')
    if (!isProvisionable(file.mime)) {
      throw errors.invalid(`A file of type ${file.mime} cannot be provisioned as an image`, 'fileId')
    }
    const updated = await db.transaction().execute(async (trx) => {
      if (!(await this.images.claimForProvisioning(trx, fileId))) return undefined
      await queueProvisioning(trx, queue, file)
      return this.repo.findById(trx, fileId)
    })
    if (!updated) {
      const now = await this.repo.findById(db, fileId)
      if (!now) throw errors.notFound('file')
      throw errors.conflict(
        now.image_status === 'ready'
          ? 'The file already has an image'
          : 'The file is already being provisioned',
      )
    }
    return toFile(updated)
  }

  /** The workspace purge: runs inside the workspace-delete transaction (WorkspacePurge). */
  async purgeWorkspace(trx: Executor, workspaceId: string): Promise<void> {
    const { queue } = this.deps
    const { images } = await this.repo.purgeWorkspace(trx, workspaceId)
    for (const image of images) {
      await queue.enqueue(trx, {
        kind: JobKinds.providerDelete,
        payload: { provider: image.provider, cfImageId: image.cf_image_id },
      })
    }
    await queue.enqueue(trx, { kind: JobKinds.blobDelete, payload: { prefix: `${workspaceId}/` } })
  }

  /** A file the caller can see with at least `need`; invisible answers exactly as missing. */
  private async visible(ctx: Ctx, id: string, need: 'viewer' | 'editor'): Promise<FileRow> {
    const row = isId('fil', id) ? await this.repo.findById(this.deps.db, id) : undefined
    if (!row) throw errors.notFound('file')
    await this.deps.access.workspace(ctx, row.workspace_id, need, 'file')
    return row
  }
}
