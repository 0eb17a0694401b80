/**
 * The baseline's SQL, by hand: for a page one indexed range scan of `images`
 * that carries the total (and, after a cursor, whether rows lie before it) as
 * subqueries run once, so a page is one statement and one snapshot; point
 * lookups for `ids`, an image by id and by file. Texts depend only on the
 * request's shape (how many workspaces, whether a cursor), so they are
 * prepared once each.
 */
import type { Param } from './db.js'

/** Workspaces a list reads: null for all of them (an admin without `workspace_id`). */
export type Scope = readonly string[] | null

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ')
const where = (conditions: string[]) => (conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '')
const inScope = (n: number | null) => (n === null ? [] : [`workspace_id in (${marks(n)})`])

/** From the counters, never a count of rows: one counter a workspace in scope, all of them for an admin. */
const total = (n: number | null) => `(select coalesce(sum(images), 0) from counts${where(inScope(n))})`

/** After a cursor: a row of the scope at or before it (newer, or its own) means a previous page. */
const newer = (n: number | null) => `exists (select 1 from images${where([...inScope(n), 'id >= ?'])})`

export interface ListStatements {
  /** `id`, `json`, `total` and, after a cursor, `newer` (of every row: the subqueries run once). */
  page: string
  /** `total` and `newer` alone, for a page with no rows to carry them. */
  info: string
}

const lists = new Map<string, ListStatements>()

export function listStatements(n: number | null, after: boolean): ListStatements {
  const shape = `${n}:${after}`
  let statements = lists.get(shape)
  if (!statements) {
    const carried = `${total(n)} as total${after ? `, ${newer(n)} as newer` : ''}`
    statements = {
      page: `select id, json, ${carried} from images${where([...inScope(n), ...(after ? ['id < ?'] : [])])} order by id desc limit ?`,
      info: `select ${carried}`,
    }
    lists.set(shape, statements)
  }
  return statements
}

/** Parameters in the order of the texts' placeholders: the carried columns', then the page's own. */
export function listParams(scope: Scope, key: string | undefined, limit: number) {
  const s = scope ?? []
  const info: Param[] = key === undefined ? [...s] : [...s, ...s, key]
  const page: Param[] = key === undefined ? [...info, ...s, limit] : [...info, ...s, key, limit]
  return { page, info }
}

const idsTexts = new Map<number, string>()

/** The rows of some ids, newest first; the caller keeps those in scope. */
export function idsStatement(n: number): string {
  let sql = idsTexts.get(n)
  if (!sql) {
    sql = `select id, workspace_id, json from images where id in (${marks(n)}) order by id desc`
    idsTexts.set(n, sql)
  }
  return sql
}

export const BY_ID = 'select workspace_id, json from images where id = ?'
export const BY_FILE = 'select workspace_id, json from images where file_id = ?'
