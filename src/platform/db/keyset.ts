import { type SelectQueryBuilder, sql } from 'kysely'
import type { Executor } from './executor.js'
import { prepared } from './prepared.js'

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
