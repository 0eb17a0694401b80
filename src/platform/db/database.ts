import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  Migrator,
  PostgresAdapter,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely'
import type pg from 'pg'
import type { DbConfig } from '../../config.js'
import { migrationProvider } from './migrations/index.js'
import { CurrentSchemaPostgresDialect } from './postgres-introspector.js'
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
  /**
   * The read cache's version (see ReadCache): the `read_version` counter that
   * triggers move with every write to the tables the cache keeps, read
   * outside any transaction. Null once the database is closed.
   */
  version(): Promise<string | null>
  destroy(): Promise<void>
}

/**
 * Runs one read statement straight on the driver, outside Kysely: on SQLite on
 * a read-only connection of its own (it sees every committed write, never a
 * transaction in flight), on PostgreSQL on the pool. For the hottest lookups
 * (see prepared.ts), whose SQL Kysely compiled once.
 */
export type DirectRead = (sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]>

const directReads = new WeakMap<object, DirectRead>()

/** The direct reader of a database opened here; undefined for a transaction, which must read through itself. */
export function directReadOf(db: object): DirectRead | undefined {
  return directReads.get(db)
}

/** The PostgreSQL driver, loaded only when a PostgreSQL database is opened (an embedded server never needs it). */
function loadPg(): typeof pg {
  const driver = createRequire(import.meta.url)('pg') as typeof pg
  // BIGINT (int8) comes back as a string by default; our counts and sizes fit in a double.
  driver.types.setTypeParser(20, (value) => Number(value))
  return driver
}

export function openDatabase(config: DbConfig, options: { poolSize?: number } = {}): DatabaseHandle {
  if (config.driver === 'sqlite') {
    mkdirSync(path.dirname(config.file), { recursive: true })
    const sqlite = new SQLite(config.file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    sqlite.pragma('busy_timeout = 10000')
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database: preparedOnce(sqlite) }, () => sqlite.inTransaction),
    })
    const reader = new SQLite(config.file, { readonly: true })
    const read = rowReader(reader)
    directReads.set(db, read)
    return {
      db,
      capabilities: { driver: 'sqlite', skipLocked: false },
      version: async () => (reader.open ? versionOf(await read(VERSION_SQL, [])) : null),
      destroy: async () => {
        await db.destroy()
        reader.close()
      },
    }
  }
  const pool = new (loadPg().Pool)({ connectionString: config.url, max: options.poolSize ?? 10 })
  const nameOf = statementNames()
  const db = new Kysely<Database>({
    dialect: new CurrentSchemaPostgresDialect({ pool: namedStatements(pool, nameOf) }),
  })
  const read: DirectRead = async (text, values) => {
    const result = await pool.query({ name: nameOf(text), text, values: values as unknown[] })
    return result.rows
  }
  directReads.set(db, read)
  let open = true
  return {
    db,
    capabilities: { driver: 'postgres', skipLocked: true },
    version: async () => (open ? versionOf(await read(VERSION_SQL, [])) : null),
    destroy: () => {
      open = false
      return db.destroy()
    },
  }
}

const VERSION_SQL = 'select version from read_version where id = 1'
const versionOf = (rows: unknown[]) => {
  const row = rows[0] as { version: number | string } | undefined
  return row ? String(row.version) : null
}

const MAX_STATEMENTS = 500

/**
 * Kysely prepares every query anew, and preparing costs more than running the
 * indexed lookups most requests make. The app issues a small set of SQL texts,
 * so each is prepared once and reused: safe, as Kysely runs one query at a time
 * on SQLite's single connection. Bounded: texts that vary (an `in` list of any
 * length) start the cache over rather than grow it.
 */
function preparedOnce(sqlite: SQLite.Database): SqliteDatabase {
  return { prepare: onceEach((text) => sqlite.prepare(text)), close: () => sqlite.close() }
}

/** `make(text)` once per text, kept for the next call; at MAX_STATEMENTS texts the cache starts over. */
function onceEach<V>(make: (text: string) => V): (text: string) => V {
  const made = new Map<string, V>()
  return (text) => {
    let value = made.get(text)
    if (value === undefined) {
      if (made.size >= MAX_STATEMENTS) made.clear()
      value = make(text)
      made.set(text, value)
    }
    return value
  }
}

/**
 * The direct reads on SQLite, each text prepared once (bounded as above). The
 * driver hands rows over as arrays and they become objects here: better-sqlite3
 * builds an object through V8's slow path, property by property, which costs
 * more than the whole indexed lookup; an object literal built in JS does not
 * (a page of 100 images: 0.44 instead of 0.80 ms).
 */
export function rowReader(sqlite: SQLite.Database): DirectRead {
  const statementOf = onceEach((text) => {
    const stmt = sqlite.prepare(text).raw(true)
    return { stmt, columns: stmt.columns().map((c) => c.name) }
  })
  return (text, parameters) => {
    const { stmt, columns } = statementOf(text)
    const rows = stmt.all(parameters) as unknown[][]
    const objects = new Array<Record<string, unknown>>(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const values = rows[r]!
      const row: Record<string, unknown> = {}
      for (let c = 0; c < columns.length; c++) row[columns[c]!] = values[c]
      objects[r] = row
    }
    return objects
  }
}

/** Names for statement texts, the first MAX_STATEMENTS of them; the others run unnamed. */
function statementNames(): (text: string) => string | undefined {
  const names = new Map<string, string>()
  return (text) => {
    let name = names.get(text)
    if (name === undefined && names.size < MAX_STATEMENTS) {
      name = `k${names.size}`
      names.set(text, name)
    }
    return name
  }
}

/**
 * The same on PostgreSQL: a named statement is parsed and planned once per
 * connection instead of on every query. Only the first MAX_STATEMENTS texts
 * get a name, so no connection holds more than that many.
 */
function namedStatements(pool: pg.Pool, nameOf: (text: string) => string | undefined): PostgresPool {
  // One wrapper per pooled client, so Kysely finds its connection for it again.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  return {
    connect: async () => {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (!wrapper) {
        wrapper = {
          query: ((textOrCursor: string | object, values?: unknown[]) => {
            if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable)
            // Parameterless texts (begin, commit, DDL) may hold several statements, which a named one cannot.
            const name = values?.length ? nameOf(textOrCursor) : undefined
            return client.query({ name, text: textOrCursor, values })
          }) as unknown as PostgresPoolClient['query'],
          release: (destroy?: boolean) => client.release(destroy),
        }
        wrappers.set(client, wrapper)
      }
      return wrapper
    },
    end: () => pool.end(),
  }
}

/**
 * Transactions start with BEGIN IMMEDIATE. A deferred BEGIN that reads first and
 * writes later fails at once with "database is locked" (busy_timeout does not
 * apply) when another process committed in between, as an API node and a
 * `pictura worker` on the same file do; taking the write lock up front waits
 * for it instead. Within one process Kysely already runs one query at a time.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly dialectConfig: SqliteDialectConfig,
    private readonly inTransaction: () => boolean,
  ) {
    super(dialectConfig)
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.dialectConfig, this.inTransaction)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    config: SqliteDialectConfig,
    private readonly inTransaction: () => boolean,
  ) {
    super(config)
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  /**
   * SQLite ends a transaction by itself on some errors ("database or disk is
   * full", an I/O error): a ROLLBACK then fails with "cannot rollback - no
   * transaction is active", and Kysely would throw that instead of the error
   * that ended it. Only a transaction still open is rolled back.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.inTransaction()) await super.rollbackTransaction(connection)
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
