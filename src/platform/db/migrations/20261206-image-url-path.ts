import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/**
 * `images.url_path`: where the image's `public` variant lives below its
 * provider's delivery base (ImageProvider.deliveryPath), written when the
 * image is, so a read composes the whole answer in its statement and only the
 * configured base is bound. Both providers make hex ids, which need no
 * escaping: their path is the id, then `/public`, set here in SQL. Any other
 * id is escaped below as its provider escapes it (a frozen copy of the rules).
 */
export const imageUrlPath: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('images').addColumn('url_path', 'text').execute()
    await sql`update images set url_path = cf_image_id || '/public'
              where cf_image_id <> '' and ${plainIdSql(db)}`.execute(db)
    const odd = await db
      .selectFrom('images')
      .select(['id', 'provider', 'cf_image_id'])
      .where('url_path', 'is', null)
      .execute()
    for (const row of odd as { id: string; provider: string; cf_image_id: string }[]) {
      const id =
        row.provider === 'cloudflare'
          ? row.cf_image_id.split('/').map(encodeURIComponent).join('/')
          : encodeURIComponent(row.cf_image_id)
      await db
        .updateTable('images')
        .set({ url_path: `${id}/public` })
        .where('id', '=', row.id)
        .execute()
    }
    // Every insert names it (NewImage); SQLite adds no NOT NULL column to a table that has rows.
    if (db.getExecutor().adapter instanceof PostgresAdapter)
      await db.schema
        .alterTable('images')
        .alterColumn('url_path', (c) => c.setNotNull())
        .execute()
  },
}

/** Ids of letters, digits, `_`, `-`, `.` and `~` only: what neither provider escapes. */
function plainIdSql(db: AnyDb) {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql`cf_image_id ~ '^[A-Za-z0-9_.~-]+$'`
    : sql`cf_image_id not glob '*[^A-Za-z0-9_.~-]*'`
}
