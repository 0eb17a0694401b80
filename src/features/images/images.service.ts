import type { Ctx } from '../../http/context.js'
import type { CursorCodec } from '../../http/cursor.js'
import { type PageRequest, paginate } from '../../http/pagination.js'
import type { PageInfo } from '../../http/schemas.js'
import type { Capabilities, Db } from '../../platform/db/database.js'
import { JobKinds, type JobQueue } from '../../platform/jobs/job-queue.js'
import { errors } from '../../shared/errors.js'
import { isId } from '../../shared/ids.js'
import { chain, type Maybe } from '../../shared/maybe.js'
import { FilesRepository } from '../files/files.repository.js'
import { type FileObject, toFile } from '../files/files.schemas.js'
import type { Access } from '../workspaces/access.js'
import { publicExifJson } from './exif.js'
import { type ImageRow, ImagesRepository, imageList, type WorkspaceScope } from './images.repository.js'
import type { ImageView } from './images.schemas.js'
import { isProvisionable, queueProvisioning } from './provisioning.js'

export interface ImagesDeps {
  db: Db
  capabilities: Capabilities
  cursors: CursorCodec
  access: Access
  queue: JobQueue
  /** EXIF_GPS: merge the stored GPS tags into `exif`. */
  exifGps: boolean
  /** The delivery URL of an image's `public` variant at the provider that holds it, computed at read time. */
  publicUrl: (provider: string, cfImageId: string) => string
}

export class ImagesService {
  private readonly repo = new ImagesRepository()
  private readonly files: FilesRepository

  constructor(private readonly deps: ImagesDeps) {
    this.files = new FilesRepository(deps.db, deps.capabilities)
  }

  async list(
    ctx: Ctx,
    req: PageRequest,
    workspaceId?: string,
  ): Promise<{ data: ImageView[]; pageInfo: PageInfo }> {
    const { db, access, cursors } = this.deps
    let scope: WorkspaceScope
    if (workspaceId !== undefined) {
      await access.workspace(ctx, workspaceId, 'viewer')
      scope = [workspaceId]
    } else {
      scope = await access.visibleWorkspaceIds(ctx)
      if (scope?.length === 0) {
        // No read to carry the version: a tentative snapshot's empty scope is checked again.
        confirmed(ctx, undefined)
        return { data: [], pageInfo: EMPTY_PAGE }
      }
    }
    const args = { scope, ids: req.ids }
    const page = await paginate(
      req,
      { list: imageList, db, args, keyOf: (r) => r.id, total: () => this.repo.total(db, args) },
      cursors,
    )
    confirmed(ctx, page.rows[0])
    return { data: page.rows.map((r) => this.toView(r)), pageInfo: page.pageInfo }
  }

  /** At once on SQLite when the caller's role is cached (see Maybe). */
  get(ctx: Ctx, id: string): Maybe<ImageView> {
    if (!isId('img', id)) throw errors.notFound('image')
    return chain(this.repo.findById(this.deps.db, id), (row) => this.visibleView(ctx, confirmed(ctx, row)))
  }

  byFile(ctx: Ctx, fileId: string): Maybe<ImageView> {
    if (!isId('fil', fileId)) throw errors.notFound('image')
    return chain(this.repo.findByFileId(this.deps.db, fileId), (row) =>
      this.visibleView(ctx, confirmed(ctx, row)),
    )
  }

  /** Removes the image row and, through a job in the same transaction, the provider's copy; the file stays. */
  async delete(ctx: Ctx, id: string): Promise<{ success: true }> {
    const { db, queue } = this.deps
    const row = isId('img', id) ? await this.repo.findById(db, id) : undefined
    await this.visible(ctx, row, 'editor')
    await db.transaction().execute(async (trx) => {
      // A concurrent delete may have won since the read: then this one found nothing.
      const deleted = await this.repo.delete(trx, id)
      if (!deleted) throw errors.notFound('image')
      await this.repo.markFileImageDeleted(trx, deleted.file_id, deleted.id)
      await queue.enqueue(trx, {
        kind: JobKinds.providerDelete,
        payload: { provider: deleted.provider, cfImageId: deleted.cf_image_id },
      })
    })
    return { success: true }
  }

  /** Provisions (again) the image of a file that has none: after a delete or a failure. */
  async provision(ctx: Ctx, fileId: string): Promise<FileObject> {
    const { db, access, queue } = this.deps
    const file = isId('fil', fileId) ? await this.files.findById(db, fileId) : undefined
    if (!file) throw errors.notFound('file')
    await access.workspace(ctx, file.workspace_id, 'editor', 'file')
    if (!isProvisionable(file.mime)) {
      throw errors.invalid(`A file of type ${file.mime} cannot be provisioned as an image`, 'fileId')
    }
    const updated = await db.transaction().execute(async (trx) => {
      if (!(await this.repo.claimForProvisioning(trx, fileId))) return undefined
      await queueProvisioning(trx, queue, file)
      return this.files.findById(trx, fileId)
    })
    if (!updated) {
      const now = await this.files.findById(db, fileId)
      if (!now) throw errors.notFound('file')
      throw errors.conflict(
        now.image_status === 'ready'
          ? 'The file already has an image'
          : 'The file is already being provisioned',
      )
    }
    return toFile(updated)
  }

  /** Invisible is absent: a foreign image answers exactly as a missing one. */
  private visible(
    ctx: Ctx,
    row: ImageRow | undefined,
    need: 'viewer' | 'editor' = 'viewer',
  ): Maybe<ImageRow> {
    if (!row) throw errors.notFound('image')
    return chain(this.deps.access.workspace(ctx, row.workspace_id, need, 'image'), () => row)
  }

  private visibleView(ctx: Ctx, row: ImageRow | undefined): Maybe<ImageView> {
    return chain(this.visible(ctx, row), (visible) => this.toView(visible))
  }

  private toView(r: ImageRow): ImageView {
    return {
      id: r.id,
      fileId: r.file_id,
      workspaceId: r.workspace_id,
      cfImageId: r.cf_image_id,
      width: Number(r.width),
      height: Number(r.height),
      size: Number(r.size),
      exifJson: publicExifJson(r, this.deps.exifGps),
      url: this.deps.publicUrl(r.provider, r.cf_image_id),
      createdAt: r.created_at,
    }
  }
}

/**
 * A read that answers a request started on a tentative snapshot confirms it
 * with the version it carries (see ReadCache.lastSnapshot); no row, nothing
 * to confirm with, and the request runs again on a snapshot asked of the database.
 */
function confirmed<R extends ImageRow>(ctx: Ctx, row: R | undefined): R | undefined {
  ctx.reads?.confirm((row as { read_version?: unknown } | undefined)?.read_version)
  return row
}

const EMPTY_PAGE: PageInfo = {
  total: 0,
  hasNextPage: false,
  hasPreviousPage: false,
  startCursor: null,
  endCursor: null,
}
