import { randomBytes } from 'node:crypto'
import { FilesRepository } from '../src/features/files/files.repository.js'
import { ImagesRepository, type NewImage } from '../src/features/images/images.repository.js'
import type { FileTable, ImageStatus } from '../src/platform/db/tables.js'
import { newId } from '../src/shared/ids.js'
import type { TestEnv } from './harness.js'

const images = new ImagesRepository()

/** A file row as an upload leaves it, without bytes: enough for the images endpoints. */
export async function newFile(
  t: TestEnv,
  workspaceId: string,
  opts: { mime?: string; status?: ImageStatus; createdBy?: string; name?: string; size?: number } = {},
): Promise<FileTable> {
  const id = newId('fil')
  const row: FileTable = {
    id,
    workspace_id: workspaceId,
    name: opts.name ?? `${id}.jpg`,
    mime: opts.mime ?? 'image/jpeg',
    size: opts.size ?? 1234,
    sha256: randomBytes(32).toString('hex'),
    blob_key: `test/${id}`,
    created_at: new Date().toISOString(),
    created_by: opts.createdBy ?? 'usr_00000000000000000000000000',
    image_status: opts.status ?? 'none',
    image_id: null,
    image_error: null,
  }
  const inserted = await t.c.db
    .transaction()
    .execute((trx) => new FilesRepository(t.c.db, t.c.database.capabilities).insert(trx, row))
  if (!inserted) throw new Error(`workspace ${workspaceId} is gone`)
  return row
}

export interface NewImageOptions {
  exif?: Record<string, unknown>
  gps?: Record<string, unknown> | null
  width?: number
  height?: number
  size?: number
  /** An existing file to bind; a new JPEG file otherwise. */
  fileId?: string
}

/** An image as the provision job leaves it: inserted through the repository, so the counter moves with it. */
export async function newImage(
  t: TestEnv,
  workspaceId: string,
  opts: NewImageOptions = {},
): Promise<NewImage> {
  const fileId = opts.fileId ?? (await newFile(t, workspaceId, { status: 'pending', size: opts.size })).id
  const row: NewImage = {
    id: newId('img'),
    file_id: fileId,
    workspace_id: workspaceId,
    provider: 'local',
    cf_image_id: randomBytes(16).toString('hex'),
    width: opts.width ?? 640,
    height: opts.height ?? 480,
    size: opts.size ?? 1234,
    exif: JSON.stringify(opts.exif ?? {}),
    exif_gps: opts.gps === undefined || opts.gps === null ? null : JSON.stringify(opts.gps),
    created_at: new Date().toISOString(),
  }
  const inserted = await t.c.db.transaction().execute((trx) => images.insert(trx, row))
  if (!inserted) throw new Error(`file ${fileId} already has an image`)
  return row
}

/** Deletes through the repository (counter included), as a concurrent writer would. */
export async function removeImage(t: TestEnv, id: string): Promise<boolean> {
  const row = await t.c.db.transaction().execute((trx) => images.delete(trx, id))
  return row !== undefined
}

/** Every workspace's counter next to COUNT(*) of its image rows. */
export async function countersVsRows(t: TestEnv) {
  const counters = await t.c.db.selectFrom('workspace_counters').select(['workspace_id', 'images']).execute()
  const counts = await t.c.db
    .selectFrom('images')
    .select(['workspace_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('workspace_id')
    .execute()
  const byWs = new Map(counts.map((r) => [r.workspace_id, Number(r.n)]))
  return counters.map((c) => ({
    workspaceId: c.workspace_id,
    counter: Number(c.images),
    rows: byWs.get(c.workspace_id) ?? 0,
  }))
}
