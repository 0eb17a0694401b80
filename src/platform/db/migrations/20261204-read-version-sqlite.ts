import { type Kysely, type Migration, SqliteAdapter, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/** The tables whose rows the read cache keeps (tokens, their users, roles, workspaces). */
const CACHED = ['users', 'tokens', 'workspaces', 'members']

/**
 * The read cache's counter on SQLite too (PostgreSQL has had it since
 * 20261127-read-version): every write to the cached tables moves it, in the
 * writing transaction, so both engines tell the cache the same way.
 * test/integration/auth.cache.test.ts fails when a table that
 * authentication reads has no such trigger.
 */
export const readVersionSqlite: Migration = {
  async up(db: AnyDb) {
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return
    await db.schema
      .createTable('read_version')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute()
    await db.insertInto('read_version').values({ id: 1, version: 0 }).execute()
    for (const table of CACHED) {
      for (const event of ['insert', 'update', 'delete']) {
        await sql
          .raw(
            `create trigger ${table}_read_version_${event} after ${event} on ${table}
             begin update read_version set version = version + 1 where id = 1; end`,
          )
          .execute(db)
      }
    }
  },
}
