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
import { errors } from '../../shared/errors.js'
import type { Logger } from '../../shared/logger.js'
import { isDatabaseUnavailable } from './errors.js'
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
  /**
   * Resolves once the database answers a trivial query; rejects (an
   * `unavailable` AppError) when it fails or takes longer than the statement
   * timeout: /readyz and the wait at start-up.
   */
  ping(): Promise<void>
  destroy(): Promise<void>
}

export interface OpenOptions {
  /** PostgreSQL connections at most (default 10). */
  poolSize?: number
  /** PostgreSQL: how long a connection may take to open, or a caller wait for a free one. None by default. */
  connectTimeoutMs?: number
  /**
   * PostgreSQL: how long a statement may run (the server cancels it) or wait
   * for an answer (a hung server: the connection is dropped). SQLite: how long
   * a write waits for another connection's lock. None (10 s on SQLite) by default.
   */
  statementTimeoutMs?: number
  /** Where lost connections are reported, once per outage. */
  log?: Logger
}

/**
 * Runs one read statement straight on the driver, outside Kysely: on SQLite on
 * a read-only connection of its own (it sees every committed write, never a
 * transaction in flight), on PostgreSQL on the pool. For the hottest lookups
 * (see `prepared` in statements.ts), whose SQL Kysely compiled once.
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

export function openDatabase(config: DbConfig, options: OpenOptions = {}): DatabaseHandle {
  const timeoutMs = options.statementTimeoutMs
  if (config.driver === 'sqlite') {
    mkdirSync(path.dirname(config.file), { recursive: true })
    // A write that waits longer than this for another process's lock fails SQLITE_BUSY: `503 unavailable`.
    const busyMs = timeoutMs ?? 10_000
    const sqlite = new SQLite(config.file, { timeout: busyMs })
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database: preparedOnce(sqlite) }, () => sqlite.inTransaction),
    })
    const reader = new SQLite(config.file, { readonly: true, timeout: busyMs })
    const read = rowReader(reader)
    directReads.set(db, read)
    return {
      db,
      capabilities: { driver: 'sqlite', skipLocked: false },
      version: async () => (reader.open ? versionOf(await read(VERSION_SQL, [])) : null),
      ping: () => bounded(sql`select 1`.execute(db), busyMs),
      destroy: async () => {
        await db.destroy()
        reader.close()
      },
    }
  }
  const pool = openPool(loadPg(), config.url, options)
  const nameOf = statementNames()
  const clients = namedStatements(pool, nameOf, timeoutMs)
  const db = new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool: clients }) })
  const read: DirectRead = async (text, values) => {
    const client = await clients.connect()
    try {
      const query = client.query as unknown as (
        text: string,
        values: unknown[],
        one: true,
      ) => Promise<{ rows: unknown[] }>
      return (await query(text, values as unknown[], true)).rows
    } finally {
      client.release()
    }
  }
  directReads.set(db, read)
  let open = true
  return {
    db,
    capabilities: { driver: 'postgres', skipLocked: true },
    version: async () => (open ? versionOf(await read(VERSION_SQL, [])) : null),
    ping: () => bounded(pool.query('select 1'), Math.max(options.connectTimeoutMs ?? 0, timeoutMs ?? 10_000)),
    destroy: () => {
      open = false
      return db.destroy()
    },
  }
}

/**
 * The pool, made to outlive its server: a connection that errors (the server
 * stopped, restarted, or dropped it), idle or in use, is reported and removed,
 * never left to throw as an unhandled 'error' event; the next use opens a new
 * one. Timeouts bound every wait: opening a connection or waiting for a free
 * one (`connectTimeoutMs`), a statement on the server (`statement_timeout`),
 * and an answer from a hung server (the client gives up a little later and
 * the connection is dropped).
 */
function openPool(driver: typeof pg, url: string, options: OpenOptions): pg.Pool {
  const timeoutMs = options.statementTimeoutMs
  const pool = new driver.Pool({
    connectionString: withGenericPlans(url),
    max: options.poolSize ?? 10,
    keepAlive: true,
    ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    ...(timeoutMs ? { statement_timeout: timeoutMs } : {}),
  })
  // One line when connections start failing, one when a connection succeeds again: not one per connection.
  let lost = false
  const onLost = (err: unknown) => {
    if (lost) return
    lost = true
    options.log?.warn({ err }, 'lost a database connection; it is replaced on next use')
  }
  pool.on('error', onLost)
  pool.on('connect', (client) => {
    // A client in use has no listener of the pool's: without this one, its error would end the process.
    client.on('error', onLost)
    if (!lost) return
    lost = false
    options.log?.info('connected to the database again')
  })
  return pool
}

/**
 * One plan a named statement, made once (`plan_cache_mode`, sent at connection
 * start beside the URL's own `options`, which pg lets override its config).
 * With custom plans PostgreSQL plans every execution again and, for a
 * workspace holding a tenth of the images, walks the id index with a filter
 * instead of the (workspace_id, id) range the generic plan reads: 0.68 against
 * 0.17 ms a first page at 1.1M images, unbounded when the workspace's images
 * are old (see bench/RESULTS.md).
 */
function withGenericPlans(url: string): string {
  const parsed = new URL(url)
  const own = parsed.searchParams.get('options')
  // First, so an operator's own `-c plan_cache_mode=…` in the URL still wins.
  parsed.searchParams.set('options', `-c plan_cache_mode=force_generic_plan${own ? ` ${own}` : ''}`)
  return parsed.href
}

/** The client's socket (pg keeps it on its connection; not in its types). */
const socketOf = (client: pg.PoolClient) =>
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream

/** `work`, or an `unavailable` error once it fails or `ms` have passed. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(errors.unavailable(`The database did not answer within ${ms} ms`)), ms)
  })
  try {
    await Promise.race([work, late])
  } catch (err) {
    throw isDatabaseUnavailable(err) ? errors.unavailable('The database is unavailable', err) : err
  } finally {
    clearTimeout(timer)
    work.catch(() => {})
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
function namedStatements(
  pool: pg.Pool,
  nameOf: (text: string) => string | undefined,
  timeoutMs: number | undefined,
): PostgresPool {
  // One wrapper per pooled client, so Kysely finds its connection for it again.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  // Clients whose connection failed or hung during this use: released, they are dropped, not pooled.
  const broken = new WeakMap<pg.PoolClient, unknown>()
  return {
    connect: async () => {
      const client = await pool.connect()
      broken.delete(client)
      let wrapper = wrappers.get(client)
      if (!wrapper) {
        wrapper = {
          // `oneStatement`: a direct read's text, named even without values (Kysely never passes it).
          query: ((textOrCursor: string | object, values?: unknown[], oneStatement?: boolean) => {
            if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable)
            // A query after a timeout would wait behind the unanswered one: fail it at once (a rollback).
            if (broken.has(client)) return Promise.reject(broken.get(client))
            // Parameterless texts (begin, commit, DDL) may hold several statements, which a named one cannot.
            const name = values?.length || oneStatement ? nameOf(textOrCursor) : undefined
            return new Promise((resolve, reject) => {
              // A server that cannot answer at all (hung, or a network dropping packets) is given up a
              // little past its own statement_timeout: the socket destroyed fails the query as a lost
              // connection. Our timer, not pg's query_timeout, and a callback, not pg's promise: pg sets
              // either on the query after building it, which doubles the client's CPU a query (a page of
              // 101 rows: 100 against 200 µs) and adds ~85 MiB under the read load.
              const timer = timeoutMs
                ? setTimeout(() => socketOf(client)?.destroy(), timeoutMs + 500)
                : undefined
              client.query(
                { name, text: textOrCursor, values },
                (err: Error | undefined, result: pg.QueryResult) => {
                  clearTimeout(timer)
                  if (!err) return resolve(result)
                  if (isDatabaseUnavailable(err)) broken.set(client, err)
                  reject(err)
                },
              )
            })
          }) as unknown as PostgresPoolClient['query'],
          release: (destroy?: boolean) => client.release(destroy || broken.has(client)),
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

/** Pictura's migrations on `db`, their table in the schema the connection writes to. */
export async function migratorFor(db: Db): Promise<Migrator> {
  // Unless told a schema, Kysely takes a migration table in ANY schema for its own: another app's, or a
  // parallel test run's, would make it skip creating ours. Pin it to the schema we write to.
  const schema =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? (await sql<{ name: string }>`select current_schema() as name`.execute(db)).rows[0]?.name
      : undefined
  return new Migrator({
    db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  })
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  const { error, results } = await (await migratorFor(db)).migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
