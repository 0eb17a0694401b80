import { type SelectQueryBuilder, sql } from 'kysely'
import { errors } from '../shared/errors.js'
import type { IdPrefix } from '../shared/ids.js'
import { isId } from '../shared/ids.js'
import type { Maybe } from '../shared/maybe.js'
import { prepared } from '../platform/db/prepared.js'
import type { Executor } from '../platform/db/executor.js'
import type { CursorCodec } from './cursor.js'
import type { ListQuery, PageInfo } from './schemas.js'

const MAX_IDS = 100

/** A validated list request: the keyset bound and the narrowing ids, cursors already decoded. */
export interface PageRequest {
  readonly list: string
  readonly limit: number
  readonly after?: string
  readonly before?: string
  /** Undefined: no narrowing. Empty: nothing can match (only malformed ids were given). */
  readonly ids?: readonly string[]
}

export interface Page<Row> {
  rows: Row[]
  pageInfo: PageInfo
}

export function parseListQuery(
  list: string,
  idPrefix: IdPrefix,
  query: ListQuery,
  cursors: CursorCodec,
): PageRequest {
  if (query.after !== undefined && query.before !== undefined) {
    throw errors.invalid('Use either after or before, not both', 'before')
  }
  let ids: string[] | undefined
  if (query.ids !== undefined) {
    const distinct = new Set(
      query.ids
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    if (distinct.size > MAX_IDS) throw errors.invalid(`At most ${MAX_IDS} ids may be given`, 'ids')
    ids = [...distinct].filter((id) => isId(idPrefix, id))
  }
  return {
    list,
    limit: query.limit ?? 100,
    after: query.after === undefined ? undefined : cursors.decode(list, query.after),
    before: query.before === undefined ? undefined : cursors.decode(list, query.before),
    ids,
  }
}

/**
 * A list the contract pages through: the rows a caller may see as a function
 * of its arguments (which workspaces, which ids), ordered by `key` (unique,
 * newest = largest). Its queries are compiled once per shape of the arguments
 * (see prepared): `rows` may test whether an argument is there, and the
 * length of a list, but passes values to the query as they are.
 */
export interface KeysetList<A, Row> {
  /** With a `total` (see keysetList), each row also carries it as `page_total`. */
  page(db: Executor, args: A, limit: number, after?: string, before?: string): Maybe<Row[]>
  exists(db: Executor, args: A, after?: string, before?: string): Maybe<unknown[]>
  /** Whether the page's rows carry the list's total. */
  readonly carriesTotal: boolean
}

/** A query of one row and one column `n`: how many rows the arguments may see in all. */
// biome-ignore lint/suspicious/noExplicitAny: any table; the one column is what matters
export type TotalQuery<A> = (db: Executor, args: A) => SelectQueryBuilder<any, any, { n: number | string }>

/**
 * A list's queries on its key. Given `total`, the page also selects it, as a
 * subquery that runs once per page: the page and its total come from one
 * statement (one round trip on PostgreSQL) and one snapshot.
 */
export function keysetList<A, Row>(
  key: string,
  // biome-ignore lint/suspicious/noExplicitAny: any table, any selection; the key column is what matters
  rows: (db: Executor, args: A) => SelectQueryBuilder<any, any, Row>,
  total?: TotalQuery<A>,
): KeysetList<A, Row> {
  const ref = sql.ref(key)
  return {
    // The cursor's own row is included: while it is still there it proves that a page lies beyond it,
    // and the depth page needs no query more than the first page.
    page: prepared((db, args: A, limit: number, after?: string, before?: string) => {
      let q = rows(db, args)
      if (total) q = q.select(total(db, args).as('page_total'))
      if (after !== undefined) q = q.where(ref, '<=', after)
      if (before !== undefined) q = q.where(ref, '>=', before)
      return q.orderBy(ref, before !== undefined ? 'asc' : 'desc').limit(limit)
    }),
    carriesTotal: total !== undefined,
    // Rows on the other side of the cursor, its own row included: does a page lie beyond it?
    exists: prepared((db, args: A, after?: string, before?: string) =>
      rows(db, args)
        .where(ref, after !== undefined ? '>=' : '<=', after ?? before ?? '')
        .clearSelect()
        .select(sql.lit(1).as('one'))
        .limit(1),
    ),
  }
}

/** One list request's source: the list, the caller's arguments, and how to count what they see. */
export interface KeysetSource<A, Row> {
  list: KeysetList<A, Row>
  db: Executor
  args: A
  keyOf: (row: Row) => string
  total: () => Promise<number>
}

/**
 * The list contract of API.md section 1: newest first, `after` walks older,
 * `before` walks newer; flags are exact in both directions, on empty pages too.
 */
export async function paginate<A, Row>(
  req: PageRequest,
  src: KeysetSource<A, Row>,
  cursors: CursorCodec,
): Promise<Page<Row>> {
  if (req.ids !== undefined && req.ids.length === 0) {
    return { rows: [], pageInfo: emptyInfo(0) }
  }
  const { list, db, args } = src
  const backward = req.before !== undefined
  const cursor = req.after ?? req.before
  const limit = req.limit + (cursor === undefined ? 1 : 2)
  let fetched: Row[]
  let total: number
  if (list.carriesTotal) {
    fetched = await list.page(db, args, limit, req.after, req.before)
    // An empty page carries nothing: its total is asked for on its own.
    const carried = (fetched[0] as { page_total?: number | string } | undefined)?.page_total
    total = carried === undefined ? await src.total() : Number(carried)
  } else {
    ;[fetched, total] = await Promise.all([list.page(db, args, limit, req.after, req.before), src.total()])
  }
  let rows = fetched
  let beyond = false
  if (cursor !== undefined) {
    if (rows[0] !== undefined && src.keyOf(rows[0]) === cursor) {
      beyond = true
      rows = rows.slice(1)
    } else {
      // The cursor's row is gone (deleted, or no longer visible): ask whether anything lies beyond it.
      beyond = (await list.exists(db, args, req.after, req.before)).length > 0
    }
  }
  const more = rows.length > req.limit
  if (more) rows = rows.slice(0, req.limit)
  if (backward) rows.reverse()

  const first = rows[0]
  const last = rows[rows.length - 1]
  return {
    rows,
    pageInfo: {
      total,
      hasNextPage: backward ? beyond : more,
      hasPreviousPage: backward ? more : beyond,
      startCursor: first === undefined ? null : cursors.encode(req.list, src.keyOf(first)),
      endCursor: last === undefined ? null : cursors.encode(req.list, src.keyOf(last)),
    },
  }
}

function emptyInfo(total: number): PageInfo {
  return { total, hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }
}
