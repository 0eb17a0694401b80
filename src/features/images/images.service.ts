import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { emptyPage, mapPage, type Page, type PageRequest } from '../../platform/db/statements.js'
import type { ImageProvider } from '../../platform/image-provider/image-provider.js'
import { JobKinds, type JobQueue } from '../../platform/jobs/job-queue.js'
import { errors } from '../../shared/errors.js'
import { isId } from '../../shared/ids.js'
import type { Access } from '../workspaces/access.js'
import { urlOpening, withGps } from './image-json.js'
import {
  type ImageAnswer,
  type ImageRead,
  ImageReads,
  ImagesRepository,
  type WorkspaceScope,
} from './images.repository.js'

export interface ImagesDeps {
  db: Db
  access: Access
  queue: JobQueue
  /** EXIF_GPS: merge the stored GPS tags into `exif`. */
  exifGps: boolean
  /** The delivery base of the provider that holds an image (ImageProvider.deliveryBase), as configured now. */
  deliveryBase: (provider: ImageProvider['name']) => string
}

/** The Images API: images answer as the JSON text their reads compose (see image-json.ts), each checked against the caller's access. */
export class ImagesService {
  private readonly repo = new ImagesRepository()
  private readonly reads: ImageReads

  constructor(private readonly deps: ImagesDeps) {
    const opening = (provider: ImageProvider['name']) => urlOpening(deps.deliveryBase(provider))
    this.reads = new ImageReads({ local: opening('local'), cloudflare: opening('cloudflare') }, deps.exifGps)
  }

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
    return mapPage(await this.reads.page(db, scope, req), (r) => this.json(r))
  }

  async get(ctx: Ctx, id: string): Promise<string> {
    const row = isId('img', id) ? await this.reads.findById(this.deps.db, id) : undefined
    return this.json(await this.visible(ctx, row))
  }

  async byFile(ctx: Ctx, fileId: string): Promise<string> {
    const row = isId('fil', fileId) ? await this.reads.findByFileId(this.deps.db, fileId) : undefined
    return this.json(await this.visible(ctx, row))
  }

  /** Removes the image row and, through a job in the same transaction, the provider's copy; the file stays. */
  async delete(ctx: Ctx, id: string): Promise<{ success: true }> {
    const { db, queue } = this.deps
    const row = isId('img', id) ? await this.reads.findById(db, id) : undefined
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

  private json(r: ImageAnswer): string {
    return this.deps.exifGps && r.exif_gps ? withGps(r.json, r.exif_gps) : r.json
  }
}
