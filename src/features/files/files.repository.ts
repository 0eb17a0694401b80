import { type RawBuilder, sql } from 'kysely'
import type { Capabilities, Db } from '../../platform/db/database.js'
import type { Executor } from '../../platform/db/executor.js'
import { keysetList, type PageRequest } from '../../platform/db/statements.js'
import type { FileTable } from '../../platform/db/tables.js'
import type { JobRow } from '../../platform/jobs/job-queue.js'

export type FileRow = FileTable

/** Which workspaces a list reads: one, those the user is a member of, or all (admins). */
export type FileScope =
  | { kind: 'workspace'; workspaceId: string }
  | { kind: 'member'; userId: string }
  | { kind: 'all' }

export interface FileFilters {
  scope: FileScope
  mimePrefix?: string
  /** Lowercase hex digest: only files with exactly these bytes. */
  sha256?: string
  ids?: readonly string[]
}

/**
 * A files list's arguments: the scope as which ids are present (a prepared
 * query's shape may depend on presence, not on a value), and the mime prefix
 * with its length, which the SQL compares.
 */
interface FileListArgs {
  workspaceId?: string
  memberId?: string
  mimePrefix?: string
  mimeLength?: number
  sha256?: string
  ids?: readonly string[]
}

function listArgs({ scope, mimePrefix, sha256, ids }: FileFilters): FileListArgs {
  return {
    workspaceId: scope.kind === 'workspace' ? scope.workspaceId : undefined,
    memberId: scope.kind === 'member' ? scope.userId : undefined,
    mimePrefix,
    mimeLength: mimePrefix?.length,
    sha256,
    ids,
  }
}

/** The rows a list pages through (keyset on files.id). Members are scoped by a subquery, not an id list. */
function filesOf(db: Executor, { workspaceId, memberId, mimePrefix, mimeLength, sha256, ids }: FileListArgs) {
  let q = db.selectFrom('files').selectAll()
  if (workspaceId !== undefined) q = q.where('files.workspace_id', '=', workspaceId)
  if (memberId !== undefined) {
    q = q.where('files.workspace_id', 'in', (eb) =>
      eb.selectFrom('members').select('members.workspace_id').where('members.user_id', '=', memberId),
    )
  }
  // substr instead of LIKE: no wildcard escaping, and case-sensitive on both engines.
  if (mimePrefix !== undefined)
    q = q.where(sql<string>`substr(files.mime, 1, ${mimeLength})`, '=', mimePrefix)
  // Index files_sha256 (sha256, workspace_id, id): the matches are read, never the scope.
  if (sha256 !== undefined) q = q.where('files.sha256', '=', sha256)
  if (ids) q = q.where('files.id', 'in', ids)
  return q
}

/**
 * How many files the arguments may see: from the counters when nothing but
 * the scope filters, else a count of the matches.
 */
function totalOf(db: Executor, args: FileListArgs) {
  if (args.mimePrefix !== undefined || args.sha256 !== undefined) {
    return filesOf(db, args)
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
  }
  // SUM over bigint is numeric on PostgreSQL, which the driver hands back as a string.
  let q = db.selectFrom('workspace_counters').select(sql<number | string>`coalesce(sum(files), 0)`.as('n'))
  if (args.workspaceId !== undefined) q = q.where('workspace_counters.workspace_id', '=', args.workspaceId)
  if (args.memberId !== undefined) {
    q = q.where('workspace_counters.workspace_id', 'in', (eb) =>
      eb.selectFrom('members').select('members.workspace_id').where('members.user_id', '=', args.memberId!),
    )
  }
  return q
}

const fileList = keysetList('files.id', filesOf, totalOf)

/**
 * File rows and `workspace_counters.files`, changed together in the caller's
 * transaction so list totals stay exact without counting rows.
 */
export class FilesRepository {
  constructor(
    private readonly db: Db,
    private readonly capabilities: Capabilities,
  ) {}

  /**
   * Records an upload: the file, its count and, when it needs one, its job (a
   * JobQueue.jobRow), all or nothing; false when the workspace is gone. On
   * PostgreSQL one statement, which spares the transaction's four other round
   * trips: each CTE reads the one before, so the counter row is locked first
   * (as in `insert`), then the file and the job are inserted, and only when it
   * was there. SQLite has no writing CTEs and no round trips to spare.
   */
  async insertUpload(row: FileRow, job: JobRow | undefined): Promise<boolean> {
    if (this.capabilities.driver !== 'postgres') {
      return this.db.transaction().execute(async (trx) => {
        if (!(await this.insert(trx, row))) return false
        if (job) await trx.insertInto('jobs').values(job).execute()
        return true
      })
    }
    const result = await sql<{ n: number }>`
      with counted as (
        update workspace_counters set files = files + 1 where workspace_id = ${row.workspace_id} returning workspace_id
      ),
      file as (${insertFrom('files', row, 'counted')} returning id)
      ${job ? sql`, job as (${insertFrom('jobs', job, 'file')})` : sql``}
      select count(*) as n from counted`.execute(this.db)
    return Number(result.rows[0]?.n) > 0
  }

  /**
   * Inserts the file and counts it. The counter update comes first and takes
   * the workspace's counter row lock, the same lock the workspace purge takes
   * first: an upload racing a workspace delete either lands before the purge
   * (and is purged) or finds the workspace gone (false, nothing inserted).
   */
  async insert(trx: Executor, row: FileRow): Promise<boolean> {
    if (!(await this.bump(trx, row.workspace_id, 1))) return false
    await trx.insertInto('files').values(row).execute()
    return true
  }

  /** Deletes the file row and uncounts it; undefined when already gone. */
  async delete(trx: Executor, id: string): Promise<FileRow | undefined> {
    const row = await trx.deleteFrom('files').where('id', '=', id).returningAll().executeTakeFirst()
    if (row) await this.bump(trx, row.workspace_id, -1)
    return row
  }

  findById(db: Executor, id: string): Promise<FileRow | undefined> {
    return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** A page of the files list. */
  page(filters: FileFilters, req: PageRequest) {
    return fileList.read(this.db, listArgs(filters), req)
  }

  /**
   * Removes a workspace's files and images inside its delete transaction and
   * returns what the clean-up jobs need. Locks the counter row first (see insert).
   */
  async purgeWorkspace(
    trx: Executor,
    workspaceId: string,
  ): Promise<{ images: { provider: string; cf_image_id: string }[] }> {
    await trx
      .updateTable('workspace_counters')
      .set({ files: sql`files` })
      .where('workspace_id', '=', workspaceId)
      .execute()
    const images = await trx
      .deleteFrom('images')
      .where('workspace_id', '=', workspaceId)
      .returning(['provider', 'cf_image_id'])
      .execute()
    await trx.deleteFrom('files').where('workspace_id', '=', workspaceId).execute()
    return { images }
  }

  private async bump(trx: Executor, workspaceId: string, by: number): Promise<boolean> {
    const result = await trx
      .updateTable('workspace_counters')
      .set({ files: sql`files + ${by}` })
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }
}

/** `insert into table (…) select <row's values> from source`: one row per row of `source`, none when it is empty. */
function insertFrom(table: string, row: object, source: string): RawBuilder<unknown> {
  const entries = Object.entries(row)
  return sql`insert into ${sql.table(table)} (${sql.join(entries.map(([column]) => sql.ref(column)))})
    select ${sql.join(entries.map(([, value]) => sql`${value}`))} from ${sql.table(source)}`
}
