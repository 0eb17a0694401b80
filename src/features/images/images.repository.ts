import { type RawBuilder, sql } from 'kysely'
import type { Executor } from '../../platform/db/executor.js'
import {
  emptyPage,
  keysetList,
  type Page,
  type PageRequest,
  pageOf,
  prepared,
} from '../../platform/db/statements.js'
import type { ImageTable } from '../../platform/db/tables.js'
import type { ImageProvider } from '../../platform/image-provider/image-provider.js'
import { CLOSING, DATE_KEY, imageHead, storedAsIs } from './image-json.js'

export type ImageRow = ImageTable
/** An image as provisioning makes it; the repository writes its JSON head (see image-json.ts). */
export type NewImage = Omit<ImageTable, 'json'>

/** Workspaces a list may read: null for every workspace (admins). */
export type WorkspaceScope = readonly string[] | null

/** An image as a list reads it: its whole JSON answer (see image-json.ts), and its GPS tags when they are served. */
export interface ImageAnswer {
  id: string
  json: string
  exif_gps?: string | null
}

/** An image as a single read takes it: its answer, GPS tags and workspace, for the access check. */
export interface ImageRead extends ImageAnswer {
  workspace_id: string
}

/**
 * The text a read puts between an image's head and its path, per provider:
 * `urlOpening` of the provider's delivery base as configured now.
 */
export type UrlOpenings = Readonly<Record<ImageProvider['name'], string>>

/** The answer in SQL: head, the opening of the row's provider, path, date (image-json.ts). */
const answer = (openings: UrlOpenings) =>
  sql<string>`images.json || (case images.provider when 'cloudflare' then ${openings.cloudflare} else ${openings.local} end) || images.url_path || ${sql.lit(DATE_KEY)} || images.created_at || ${sql.lit(CLOSING)}`

/** The row with its JSON head; its path and date go into every answer as they are (image-json.ts). */
const withHead = (row: NewImage): ImageRow => {
  storedAsIs(row.url_path)
  storedAsIs(row.created_at)
  return { ...row, json: imageHead(row) }
}

/**
 * Image rows and the per-workspace counters that make `pageInfo.total` exact
 * without counting rows: every insert and delete changes both in the caller's
 * transaction.
 */
export class ImagesRepository {
  /** Inserts the image and binds it to its file; false when the file already has one (a job that ran twice). */
  async insert(trx: Executor, row: NewImage): Promise<boolean> {
    return (await this.insertMany(trx, [row])).has(row.id)
  }

  /**
   * Inserts several images with one statement per table (a provisioning
   * batch): binds each to its file and counts them per workspace. Returns the
   * ids inserted; a file that already has an image keeps it. The files must
   * be distinct.
   */
  async insertMany(trx: Executor, rows: readonly NewImage[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set()
    const inserted = await trx
      .insertInto('images')
      .values(rows.map(withHead))
      .onConflict((oc) => oc.column('file_id').doNothing())
      .returning(['id', 'file_id'])
      .execute()
    if (inserted.length === 0) return new Set()
    await trx
      .updateTable('files')
      .set((eb) => ({
        image_status: 'ready',
        image_id: eb.selectFrom('images').select('images.id').whereRef('images.file_id', '=', 'files.id'),
        image_error: null,
      }))
      .where(
        'id',
        'in',
        inserted.map((r) => r.file_id),
      )
      .execute()
    const ids = new Set(inserted.map((r) => r.id))
    const perWorkspace = new Map<string, number>()
    for (const row of rows)
      if (ids.has(row.id)) perWorkspace.set(row.workspace_id, (perWorkspace.get(row.workspace_id) ?? 0) + 1)
    // Last, and in one order: every insert into a workspace waits on its counter row until commit.
    for (const workspaceId of [...perWorkspace.keys()].sort())
      await this.bump(trx, workspaceId, perWorkspace.get(workspaceId)!)
    return ids
  }

  /**
   * PostgreSQL: insertMany for the files that still wait for an image, as one
   * atomic statement (one round trip, where a transaction of the same steps
   * took seven): it locks those files in id order (waiting on a concurrent
   * delete, as a `for update` read does), inserts their images, binds them,
   * counts them per workspace and runs `also` (the jobs' end). Rows go in as
   * arrays, so the text, and with it the named statement, is the same for any
   * batch. Returns the ids inserted; the files must be distinct.
   */
  async insertWaiting(
    db: Executor,
    images: readonly NewImage[],
    also: RawBuilder<unknown> | null,
  ): Promise<Set<string>> {
    if (images.length === 0 && !also) return new Set()
    const rows = images.map(withHead)
    const column = <K extends keyof ImageRow>(key: K) => rows.map((r) => r[key])
    const { rows: inserted } = await sql<{ id: string }>`
      with input as (
        select * from unnest(
          ${column('id')}::text[], ${column('file_id')}::text[], ${column('workspace_id')}::text[],
          ${column('provider')}::text[], ${column('cf_image_id')}::text[], ${column('width')}::integer[],
          ${column('height')}::integer[], ${column('size')}::bigint[], ${column('exif')}::text[],
          ${column('exif_gps')}::text[], ${column('thumbhash')}::text[], ${column('created_at')}::text[],
          ${column('json')}::text[], ${column('url_path')}::text[]
        ) as v (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, thumbhash, created_at, json, url_path)
      ),
      waiting as (
        select files.id from files
        where files.id in (select file_id from input) and files.image_status = 'pending'
        order by files.id for update
      ),
      inserted as (
        insert into images (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, thumbhash, created_at, json, url_path)
        select input.* from input join waiting on waiting.id = input.file_id
        on conflict (file_id) do nothing
        returning id, file_id, workspace_id
      ),
      bound as (
        update files set image_status = 'ready', image_id = inserted.id, image_error = null
        from inserted where files.id = inserted.file_id
      ),
      counted as (
        update workspace_counters set images = workspace_counters.images + added.n
        from (select workspace_id, count(*) as n from inserted group by workspace_id) added
        where workspace_counters.workspace_id = added.workspace_id
      )
      ${also ? sql`, ended as (${also})` : sql``}
      select id from inserted`.execute(db)
    return new Set(inserted.map((r) => r.id))
  }

  /** Deletes the image row; returns it (for the provider clean-up) or undefined when already gone. */
  async delete(trx: Executor, id: string): Promise<ImageRow | undefined> {
    const row = await trx.deleteFrom('images').where('id', '=', id).returningAll().executeTakeFirst()
    if (row) await this.bump(trx, row.workspace_id, -1)
    return row
  }

  private async bump(trx: Executor, workspaceId: string, by: number): Promise<void> {
    await trx
      .updateTable('workspace_counters')
      .set({ images: sql`images + ${by}` })
      .where('workspace_id', '=', workspaceId)
      .execute()
  }

  // The file side of an image (the image_* columns of files)

  /** After a delete: the file remembers its image went, unless it already points elsewhere. */
  async markFileImageDeleted(trx: Executor, fileId: string, imageId: string): Promise<void> {
    await trx
      .updateTable('files')
      .set({ image_status: 'deleted', image_id: null, image_error: null })
      .where('id', '=', fileId)
      .where('image_id', '=', imageId)
      .execute()
  }

  /**
   * Takes the file for provisioning when it has no image and none is on the way;
   * a conditional update, so of two concurrent requests only one wins (PostgreSQL
   * re-checks the condition on the locked row, SQLite serialises writers).
   */
  async claimForProvisioning(trx: Executor, fileId: string): Promise<boolean> {
    const claimed = await trx
      .updateTable('files')
      .set({ image_status: 'pending', image_id: null, image_error: null })
      .where('id', '=', fileId)
      .where('image_status', 'not in', ['pending', 'ready'])
      .returning('id')
      .executeTakeFirst()
    return claimed !== undefined
  }
}

/**
 * The API's reads, each one statement whose rows carry the answer as the API
 * sends it: the configured delivery bases are constants of the statements,
 * compiled once per instance (and per shape, for the lists). A list row is its
 * id and answer only (and the GPS tags when they are served): every column a
 * row carries is a value the driver makes (lists 36% faster on SQLite than
 * with the row's fields, see bench/RESULTS.md).
 */
export class ImageReads {
  private readonly byId
  private readonly byFileId
  private readonly byIds
  private readonly list

  constructor(openings: UrlOpenings, gps: boolean) {
    const one = (db: Executor) =>
      db
        .selectFrom('images')
        .select(['images.id', 'images.workspace_id', answer(openings).as('json'), 'images.exif_gps'])
    this.byId = prepared((db, id: string) => one(db).where('images.id', '=', id))
    this.byFileId = prepared((db, fileId: string) => one(db).where('images.file_id', '=', fileId))
    this.byIds = prepared((db, ids: readonly string[]) =>
      one(db).where('images.id', 'in', ids).orderBy('images.id', 'desc'),
    )
    const listed = (db: Executor) => {
      const q = db.selectFrom('images').select(['images.id', answer(openings).as('json')])
      return gps ? q.select('images.exif_gps') : q
    }
    /**
     * The rows a list pages through, newest first, for a scope of workspaces (null:
     * every one, for admins). A scope becomes `workspace_id IN (...)`, served by
     * the (workspace_id, id) index or, when the scope holds most rows, by the
     * primary key with a filter (the planners choose; both bounded by the LIMIT);
     * no scope walks the primary key. The total comes from the per-workspace
     * counters, never a count of image rows (a list narrowed to ids counts what
     * it read, see `page`).
     */
    this.list = keysetList(
      'images.id',
      (db, scope: WorkspaceScope) =>
        scope ? listed(db).where('images.workspace_id', 'in', scope) : listed(db),
      (db, scope) => {
        // SUM over bigint is numeric on PostgreSQL, which the driver hands back as a string.
        let q = db
          .selectFrom('workspace_counters')
          .select(sql<number | string>`coalesce(sum(images), 0)`.as('n'))
        if (scope) q = q.where('workspace_counters.workspace_id', 'in', scope)
        return q
      },
    )
  }

  async findById(db: Executor, id: string): Promise<ImageRead | undefined> {
    return (await this.byId(db, id))[0]
  }

  async findByFileId(db: Executor, fileId: string): Promise<ImageRead | undefined> {
    return (await this.byFileId(db, fileId))[0]
  }

  /**
   * A page of the images in `scope` (see the list above). A page narrowed to
   * ids reads those rows by primary key and keeps the ones in scope here: with
   * the scope's `workspace_id IN (...)` in the statement, SQLite built a second
   * temporary table every time (`ids` 87 → 62 µs of CPU a request on SQLite,
   * see bench/RESULTS.md).
   */
  async page(db: Executor, scope: WorkspaceScope, req: PageRequest): Promise<Page<ImageAnswer>> {
    if (req.ids === undefined) return this.list.read(db, scope, req)
    if (req.ids.length === 0) return emptyPage(0)
    const rows = await this.byIds(db, req.ids)
    if (scope === null) return pageOf(rows, req)
    const inScope = new Set(scope)
    return pageOf(
      rows.filter((r) => inScope.has(r.workspace_id)),
      req,
    )
  }
}
