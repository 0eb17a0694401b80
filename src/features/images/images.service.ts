import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { emptyPage, mapPage, type Page, type PageRequest } from '../../platform/db/keyset.js'
import { JobKinds, type JobQueue } from '../../platform/jobs/job-queue.js'
import { errors } from '../../shared/errors.js'
import { isId } from '../../shared/ids.js'
import type { Access } from '../workspaces/access.js'
import { imageJson, withGps } from './image-json.js'
import { type ImageRead, ImagesRepository, type WorkspaceScope } from './images.repository.js'

export interface ImagesDeps {
  db: Db
  access: Access
  queue: JobQueue
  /** EXIF_GPS: merge the stored GPS tags into `exif`. */
  exifGps: boolean
  /** The delivery URL of an image's `public` variant at the provider that holds it, computed at read time. */
  publicUrl: (provider: string, cfImageId: string) => string
}

/** The Images API: images answer as JSON text (see image-json.ts), each checked against the caller's access. */
export class ImagesService {
  private readonly repo = new ImagesRepository()

  constructor(private readonly deps: ImagesDeps) {}

  /** A page of the images of one workspace, or of every workspace the caller sees. */
  async list(ctx: Ctx, req: PageRequest, workspaceId?: string): Promise<Page<string>> {
    const { db, access } = this.deps
    let scope: WorkspaceScope
    if (workspaceId !== undefined) {
      await access.workspace(ctx, workspaceId, 'viewer')
      scope = [workspaceId]
    } else {
      scope = await access.visibleWorkspaceIds(ctx)
      if (scope?.length === 0) return emptyPage(0)
    }
    return mapPage(await this.repo.page(db, scope, req), (r) => this.json(r))
  }

  async get(ctx: Ctx, id: string): Promise<string> {
    const row = isId('img', id) ? await this.repo.findById(this.deps.db, id) : undefined
    return this.json(await this.visible(ctx, row))
  }

  async byFile(ctx: Ctx, fileId: string): Promise<string> {
    const row = isId('fil', fileId) ? await this.repo.findByFileId(this.deps.db, fileId) : undefined
    return this.json(await this.visible(ctx, row))
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

  /** Invisible is absent: a foreign image answers exactly as a missing one. */
  private async visible(
    ctx: Ctx,
    row: ImageRead | undefined,
    need: 'viewer' | 'editor' = 'viewer',
  ): Promise<ImageRead> {
    if (!row) throw errors.notFound('image')
    await this.deps.access.workspace(ctx, row.workspace_id, need, 'image')
    return row
  }

  private json(r: ImageRead): string {
    const head = this.deps.exifGps && r.exif_gps ? withGps(r.json, r.exif_gps) : r.json
    return imageJson(head, this.deps.publicUrl(r.provider, r.cf_image_id), r.created_at)
  }
}
