import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/** The tables whose rows the read cache keeps (tokens, their users, roles, workspaces). */
const CACHED = ['users', 'tokens', 'workspaces', 'members']

/**
 * A counter every write to the cached tables moves, in the writing
 * transaction, so the read cache (ReadCache) can tell on PostgreSQL with one
 * indexed read that nothing it keeps has changed, on any node. SQLite has no
 * need of it: its data_version tells the same for free.
 */
export const readVersion: Migration = {
  async up(db: AnyDb) {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return
    await db.schema
      .createTable('read_version')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute()
    await db.insertInto('read_version').values({ id: 1, version: 0 }).execute()
    // The schema is named in the function, so a session's search_path cannot point it elsewhere.
    const schema = (await sql<{ name: string }>`select current_schema() as name`.execute(db)).rows[0]!.name
    await sql
      .raw(
        `create function bump_read_version() returns trigger language plpgsql as $$
         begin
           update "${schema}".read_version set version = version + 1 where id = 1;
           return null;
         end $$`,
      )
      .execute(db)
    for (const table of CACHED) {
      await sql
        .raw(
          `create trigger ${table}_read_version after insert or update or delete or truncate on ${table}
           for each statement execute function bump_read_version()`,
        )
        .execute(db)
    }
  },
}
