import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/**
 * `images.json`: the head of each image's JSON as the API answers it (every
 * field up to `exif`; see features/images/image-json.ts), written when the
 * image is, so reads concatenate instead of assembling fields. Existing rows
 * get theirs here, written the same way in SQL.
 */
export const imageJson: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('images').addColumn('json', 'text').execute()
    const quote = (column: string) =>
      db.getExecutor().adapter instanceof PostgresAdapter
        ? `to_json(${column})::text`
        : `json_quote(${column})`
    await sql
      .raw(
        `update images set json = '{"id":' || ${quote('id')} || ',"fileId":' || ${quote('file_id')}
           || ',"workspaceId":' || ${quote('workspace_id')} || ',"cfImageId":' || ${quote('cf_image_id')}
           || ',"width":' || width || ',"height":' || height || ',"size":' || size
           || ',"exif":' || coalesce(nullif(exif, ''), '{}')`,
      )
      .execute(db)
  },
}
