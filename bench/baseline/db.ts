/**
 * The baseline's one way into its database: a statement (`?` placeholders) run
 * with its parameters, prepared once per text (on PostgreSQL a named statement).
 * Connection settings as Pictura's (SQLite in WAL mode, a pool of 10 on
 * PostgreSQL), but for PostgreSQL's generic plans (see postgres()).
 */
import SQLite from 'better-sqlite3'
import pg from 'pg'

export type Param = string | number
export type Row = Record<string, unknown>
export type Run = (sql: string, params: readonly Param[]) => Row[] | Promise<Row[]>

export function connect(databaseUrl: string): Run {
  return databaseUrl.startsWith('postgres')
    ? postgres(databaseUrl)
    : sqlite(databaseUrl.replace(/^sqlite:/, ''))
}

function sqlite(file: string): Run {
  const db = new SQLite(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 10000')
  const statements = new Map<string, SQLite.Statement>()
  return (sql, params) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      statements.set(sql, statement)
    }
    return statement.all(...params) as Row[]
  }
}

function postgres(databaseUrl: string): Run {
  // One plan a statement, made once: with custom plans PostgreSQL plans every execution again, and for the
  // big workspace (a tenth of the rows) picks the id index with a filter over ~1,100 rows, 4× the time of
  // the range of the primary key that the generic plan reads (0.43 ms against 0.10 ms a page, warm).
  // Set at connection start, beside the URL's search path: a `set` sent on connect would queue with the
  // pool's first query on the same client.
  const url = new URL(databaseUrl)
  const options = url.searchParams.get('options')
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c plan_cache_mode=force_generic_plan`)
  const pool = new pg.Pool({ connectionString: url.href, max: 10 })
  const named = new Map<string, { name: string; text: string }>()
  return async (sql, params) => {
    let statement = named.get(sql)
    if (!statement) {
      let n = 0
      statement = { name: `baseline_${named.size}`, text: sql.replace(/\?/g, () => `$${++n}`) }
      named.set(sql, statement)
    }
    return (await pool.query({ name: statement.name, text: statement.text, values: params as Param[] }))
      .rows as Row[]
  }
}
