import type { Kysely, Migration } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are schema-agnostic by design
type AnyDb = Kysely<any>

/**
 * The claim picks due jobs `order by run_at, id`. With `id` missing from the
 * index, both engines sorted every due job on each claim (SQLite: a temp
 * B-tree for the `id` part), so a claim grew with the backlog; with it the
 * pick reads the first rows of the index and stops.
 */
export const jobsDueOrder: Migration = {
  async up(db: AnyDb) {
    await db.schema.createIndex('jobs_due_order').on('jobs').columns(['state', 'run_at', 'id']).execute()
    await db.schema.dropIndex('jobs_due').execute()
  },
}
