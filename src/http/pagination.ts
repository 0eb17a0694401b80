import { type SelectQueryBuilder, sql } from 'kysely'
import { errors } from '../shared/errors.js'
import type { IdPrefix } from '../shared/ids.js'
import { isId } from '../shared/ids.js'
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
 * One list source: a query already narrowed to what the caller may see, the
 * column that orders it (unique, newest = largest), and how to count it.
 */
export interface KeysetSource<Row> {
  // biome-ignore lint/suspicious/noExplicitAny: any table, any selection; the key column is what matters
  query: SelectQueryBuilder<any, any, Row>
  key: string
  keyOf: (row: Row) => string
  total: () => Promise<number>
}

/**
 * The list contract of API.md section 1: newest first, `after` walks older,
 * `before` walks newer; flags are exact in both directions, on empty pages too.
 */
export async function paginate<Row>(
  req: PageRequest,
  src: KeysetSource<Row>,
  cursors: CursorCodec,
): Promise<Page<Row>> {
  if (req.ids !== undefined && req.ids.length === 0) {
    return { rows: [], pageInfo: emptyInfo(0) }
  }
  const key = sql.ref(src.key)
  const backward = req.before !== undefined
  let page = src.query.orderBy(key, backward ? 'asc' : 'desc').limit(req.limit + 1)
  if (req.after !== undefined) page = page.where(key, '<', req.after)
  if (req.before !== undefined) page = page.where(key, '>', req.before)

  const beyondCursor = async (): Promise<boolean> => {
    if (req.after !== undefined) return exists(src.query.where(key, '>=', req.after))
    if (req.before !== undefined) return exists(src.query.where(key, '<=', req.before))
    return false
  }
  const [fetched, total, beyond] = await Promise.all([page.execute(), src.total(), beyondCursor()])
  const more = fetched.length > req.limit
  const rows = more ? fetched.slice(0, req.limit) : fetched
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

// biome-ignore lint/suspicious/noExplicitAny: see KeysetSource
async function exists(query: SelectQueryBuilder<any, any, unknown>): Promise<boolean> {
  const row = await query.clearSelect().select(sql.lit(1).as('one')).limit(1).executeTakeFirst()
  return row !== undefined
}

function emptyInfo(total: number): PageInfo {
  return { total, hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }
}
