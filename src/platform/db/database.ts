import { mkdirSync } from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely'
import pg from 'pg'
import type { DbConfig } from '../../config.js'
import { migrationProvider } from './migrations/index.js'
import type { Database } from './tables.js'

/** What differs between the two engines, asked in one place instead of scattered `if (pg)`. */
export interface Capabilities {
  readonly driver: DbConfig['driver']
  /** `FOR UPDATE SKIP LOCKED` for job claims; SQLite serialises writers instead. */
  readonly skipLocked: boolean
}

export type Db = Kysely<Database>

export interface DatabaseHandle {
  readonly db: Db
  readonly capabilities: Capabilities
  destroy(): Promise<void>
}

// BIGINT (int8) comes back as a string by default; our counts and sizes fit in a double.
pg.types.setTypeParser(20, (value) => Number(value))

export function openDatabase(config: DbConfig, options: { poolSize?: number } = {}): DatabaseHandle {
  if (config.driver === 'sqlite') {
    mkdirSync(path.dirname(config.file), { recursive: true })
    const sqlite = new SQLite(config.file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 10000')
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) })
    return { db, capabilities: { driver: 'sqlite', skipLocked: false }, destroy: () => db.destroy() }
  }
  const pool = new pg.Pool({ connectionString: config.url, max: options.poolSize ?? 10 })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, capabilities: { driver: 'postgres', skipLocked: true }, destroy: () => db.destroy() }
}

/**
 * Transactions start with BEGIN IMMEDIATE. A deferred BEGIN that reads first and
 * writes later fails at once with "database is locked" (busy_timeout does not
 * apply) when another process committed in between, as an API node and a
 * `pictura worker` on the same file do; taking the write lock up front waits
 * for it instead. Within one process Kysely already runs one query at a time.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly dialectConfig: SqliteDialectConfig) {
    super(dialectConfig)
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.dialectConfig)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  // Unless told a schema, Kysely takes a migration table in ANY schema for its own: another app's, or a
  // parallel test run's, would make it skip creating ours. Pin it to the schema we write to.
  const schema =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? (await sql<{ name: string }>`select current_schema() as name`.execute(db)).rows[0]?.name
      : undefined
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
