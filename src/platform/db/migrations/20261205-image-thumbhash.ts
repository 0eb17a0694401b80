import { type Kysely, type Migration, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/**
 * `images.thumbhash`: a ~25-byte placeholder of each image (base64), which the
 * web app paints while the image loads. Images provisioned before have none:
 * their stored JSON head (20261204-image-json) gains `"thumbhash":null`, so
 * every head ends with the field, as features/images/image-json.ts writes it.
 */
export const imageThumbhash: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('images').addColumn('thumbhash', 'text').execute()
    await sql`update images set json = json || ',"thumbhash":null'`.execute(db)
  },
}
