import type { Kysely, Migration } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/**
 * `GET /api/files?sha256=` finds files by content. The digest leads, so an
 * admin's search over every workspace reads only the matches; the workspace
 * comes second, so a search in one workspace is two equalities on the index
 * and the planner prefers it to walking the workspace's (workspace_id, id).
 */
export const filesSha256: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createIndex('files_sha256')
      .on('files')
      .columns(['sha256', 'workspace_id', 'id'])
      .execute()
  },
}
