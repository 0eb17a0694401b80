import { type Compilable, type CompiledQuery, type SelectQueryBuilder, sql } from 'kysely'
import { directReadOf } from './database.js'
import type { Executor } from './executor.js'

/*
 * How the API's reads run: lists paged on a key (keysetList), each of their
 * statements, like the single lookups, compiled once per shape of its
 * arguments (prepared).
 */

/**
 * Keyset paging on a list's `id` column (unique; newest = largest), as API.md
 * section 1 has it: newest first, `after` walks older, `before` walks newer,
 * exact flags in both directions and on empty pages. Cursors are the HTTP
 * layer's business: here a bound is the key itself.
 */
export interface PageRequest {
  readonly limit: number
  readonly after?: string
  readonly before?: string
  /** Undefined: no narrowing. Empty: nothing can match (only malformed ids were given). */
  readonly ids?: readonly string[]
}

/**
 * A page of rows with what `pageInfo` says of it; the keys are those of the
 * first and last rows. Rows may carry the page's total as `page_total`.
 */
export interface Page<Row> {
  rows: Row[]
  total: number
  hasNextPage: boolean
  hasPreviousPage: boolean
  startKey: string | null
  endKey: string | null
}

/** A row of a list: its key is its `id`. */
export interface Keyed {
  id: string
}

/** A query of one row and one column `n`: how many rows the arguments may see in all. */
// biome-ignore lint/suspicious/noExplicitAny: any table; the one column is what matters
export type TotalQuery<A> = (db: Executor, args: A) => SelectQueryBuilder<any, any, { n: number | string }>

/**
 * A list the contract pages through: the rows a caller may see as a function
 * of its arguments (which workspaces, which ids), and how many they are. Its
 * statements are compiled once per shape of the arguments (see prepared).
 */
export interface KeysetList<A, Row extends Keyed> {
  read(db: Executor, args: A, req: PageRequest): Promise<Page<Row>>
}

/**
 * A list's statements on `key`. The page selects its total as a subquery that
 * runs once per page: page and total come from one statement (one round trip
 * on PostgreSQL) and one snapshot; a page without rows asks for the total alone.
 * Without a `total` query the total is a count of `rows` (small lists only:
 * the big ones keep counters).
 *
 * A request with `ids` (at most 100, which the arguments pass on to `rows`)
 * reads every row they name in one statement and cuts the page from them:
 * point lookups, and the total is how many there are.
 */
export function keysetList<A, Row extends Keyed>(
  key: string,
  // biome-ignore lint/suspicious/noExplicitAny: any table, any selection; the key column is what matters
  rows: (db: Executor, args: A) => SelectQueryBuilder<any, any, Row>,
  total: TotalQuery<A> = (db, args) =>
    rows(db, args)
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n')),
): KeysetList<A, Row> {
  const ref = sql.ref(key)
  // The cursor's own row is included: while it is still there it proves that a page lies beyond it,
  // so a page deep in a list needs no statement more than the first.
  const page = prepared((db, args: A, limit: number, after?: string, before?: string) => {
    let q = rows(db, args).select(total(db, args).as('page_total'))
    if (after !== undefined) q = q.where(ref, '<=', after)
    if (before !== undefined) q = q.where(ref, '>=', before)
    return q.orderBy(ref, before !== undefined ? 'asc' : 'desc').limit(limit)
  })
  // Rows on the other side of a cursor whose own row went: does a page lie beyond it?
  const beyond = prepared((db, args: A, after?: string, before?: string) =>
    rows(db, args)
      .where(ref, after !== undefined ? '>=' : '<=', after ?? before ?? '')
      .clearSelect()
      .select(sql.lit(1).as('one'))
      .limit(1),
  )
  const totalAlone = prepared(total)
  // Distinct ids match at most as many rows; the limit also bounds a caller that left them out of `args`.
  const named = prepared((db, args: A, count: number) => rows(db, args).orderBy(ref, 'desc').limit(count))

  return {
    async read(db, args, req) {
      if (req.ids !== undefined) {
        return req.ids.length === 0 ? emptyPage(0) : pageOf(await named(db, args, req.ids.length), req)
      }
      const backward = req.before !== undefined
      const cursor = req.after ?? req.before
      const fetched = (await page(
        db,
        args,
        req.limit + (cursor === undefined ? 1 : 2),
        req.after,
        req.before,
      )) as (Row & { page_total?: number | string })[]
      const carried = fetched[0]?.page_total
      const count = carried === undefined ? (await totalAlone(db, args))[0]?.n : carried
      let list: Row[] = fetched
      let more = false
      if (cursor !== undefined) {
        if (list[0]?.id === cursor) {
          more = true
          list = list.slice(1)
        } else {
          more = (await beyond(db, args, req.after, req.before)).length > 0
        }
      }
      const further = list.length > req.limit
      if (further) list = list.slice(0, req.limit)
      if (backward) list.reverse()
      return {
        rows: list,
        total: Number(count ?? 0),
        hasNextPage: backward ? more : further,
        hasPreviousPage: backward ? further : more,
        startKey: list[0]?.id ?? null,
        endKey: list[list.length - 1]?.id ?? null,
      }
    },
  }
}

/** The page of `req` cut from every row of a list, newest first (a list narrowed to a few ids). */
export function pageOf<Row extends Keyed>(all: Row[], req: PageRequest): Page<Row> {
  const backward = req.before !== undefined
  let list = all
  if (req.after !== undefined) list = all.filter((r) => r.id < req.after!)
  else if (backward) list = all.filter((r) => r.id > req.before!).reverse()
  const more = list.length < all.length
  const further = list.length > req.limit
  list = list.slice(0, req.limit)
  if (backward) list.reverse()
  return {
    rows: list,
    total: all.length,
    hasNextPage: backward ? more : further,
    hasPreviousPage: backward ? further : more,
    startKey: list[0]?.id ?? null,
    endKey: list[list.length - 1]?.id ?? null,
  }
}

export function emptyPage<Row>(total: number): Page<Row> {
  return { rows: [], total, hasNextPage: false, hasPreviousPage: false, startKey: null, endKey: null }
}

/** The same page with its rows mapped (to the API's objects). */
export function mapPage<Row, Out>(page: Page<Row>, map: (row: Row) => Out): Page<Out> {
  return { ...page, rows: page.rows.map(map) }
}

/**
 * A read whose SQL is built and compiled once per shape of its arguments, then
 * run with fresh parameters. On the hot reads (an image by id, a page of a
 * list) building and compiling a Kysely query costs more than the indexed
 * lookup itself.
 *
 * The shape of the arguments is what the SQL may depend on: which are
 * undefined or null, array lengths, object keys and booleans. Strings and
 * numbers are values: `build` receives placeholders in their place, so it may
 * test whether one is there but must pass it to the query as it is (no
 * arithmetic, no branching on its content). Each compiled parameter that is a
 * placeholder is filled from the call's arguments; any other is a constant of
 * the query. A builder that breaks the rule fails loudly when it is compiled:
 * a value it altered, or one it never bound (a branch on a string's content
 * sees a placeholder, takes the wrong way and drops what it would have bound,
 * a tenant filter say), is an error, never a query. Outside a transaction the
 * statement skips Kysely's executor too (DirectRead).
 */
export function prepared<A extends unknown[], R>(
  build: (db: Executor, ...args: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<R[]> {
  // Keyed by the dialect's adapter, which a database and its transactions share; then by shape.
  const compiled = new WeakMap<object, Map<string, Statement<R>>>()
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter
    let shapes = compiled.get(adapter)
    if (!shapes) {
      shapes = new Map()
      compiled.set(adapter, shapes)
    }
    const values: unknown[] = []
    const shape = shapeOf(args, values)
    let statement = shapes.get(shape)
    if (!statement) {
      // `in` lists of every length make many shapes: start over rather than grow without bound.
      if (shapes.size >= MAX_SHAPES) shapes.clear()
      statement = compile(db, build, args)
      shapes.set(shape, statement)
    }
    const parameters = statement.slots.map((slot) => (slot.value ? slot.constant : values[slot.index]))
    const direct = directReadOf(db)
    if (direct) return direct(statement.query.sql, parameters) as R[]
    return (await db.executeQuery<R>({ ...statement.query, parameters })).rows
  }
}

const MAX_SHAPES = 500
const PLACEHOLDER = '\u0000prepared:'

type Slot = { value: false; index: number } | { value: true; constant: unknown }

interface Statement<R> {
  query: CompiledQuery<R>
  slots: Slot[]
}

/** The shape of `value` as a string; its strings and numbers are pushed onto `values`, in order. */
function shapeOf(value: unknown, values: unknown[]): string {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
      values.push(value)
      return 'v'
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      return 'u'
  }
  if (value === null) return 'n'
  if (Array.isArray(value)) {
    let s = '['
    for (const item of value) s += shapeOf(item, values)
    return `${s}]`
  }
  if (typeof value === 'object') {
    let s = '{'
    for (const key in value) s += `${key}:${shapeOf((value as Record<string, unknown>)[key], values)},`
    return `${s}}`
  }
  throw new Error(`prepared: cannot take a ${typeof value} as an argument`)
}

/** The same structure with each string or number replaced by a numbered placeholder. */
function placeholders(value: unknown, next: { i: number }): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
      return `${PLACEHOLDER}${next.i++}`
  }
  if (Array.isArray(value)) return value.map((item) => placeholders(item, next))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeholders(v, next)]))
  }
  return value
}

function compile<A extends unknown[], R>(
  db: Executor,
  build: (db: Executor, ...args: A) => Compilable<R>,
  args: A,
): Statement<R> {
  const count = { i: 0 }
  const query = build(db, ...(placeholders(args, count) as A)).compile()
  if (query.query.kind !== 'SelectQueryNode') throw new Error(`prepared: only reads: ${query.sql}`)
  const slots = query.parameters.map((p): Slot => {
    if (typeof p !== 'string' || !p.startsWith(PLACEHOLDER)) return { value: true, constant: p }
    const index = Number(p.slice(PLACEHOLDER.length))
    // A placeholder changed on its way (concatenated, computed with) would bind a wrong value.
    if (!Number.isInteger(index) || `${PLACEHOLDER}${index}` !== p) {
      throw new Error(`prepared: an argument was altered, not passed as it is: ${query.sql}`)
    }
    return { value: false, index }
  })
  const bound = new Set(slots.flatMap((s) => (s.value ? [] : [s.index])))
  if (bound.size !== count.i) {
    throw new Error(
      `prepared: ${count.i - bound.size} argument(s) never bound (a branch on a value?): ${query.sql}`,
    )
  }
  return { query, slots }
}
