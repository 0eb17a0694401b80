import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Page, PageRequest } from '../platform/db/statements.js'
import { errors } from '../shared/errors.js'
import type { IdPrefix } from '../shared/ids.js'
import { isId } from '../shared/ids.js'
import type { ListQuery, PageInfo } from './schemas.js'

const MAX_IDS = 100

/**
 * Opaque cursors: the list they belong to and the row key, signed with a secret
 * kept in the database, so any node of a deployment accepts what another issued
 * and rejects what none did (tampered, truncated, or from another list).
 */
export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(list: string, key: string): string {
    const body = Buffer.from(`${list}\n${key}`).toString('base64url')
    return `${body}.${this.sign(body)}`
  }

  decode(list: string, cursor: string): string {
    const dot = cursor.indexOf('.')
    if (dot <= 0 || cursor.length > 512) throw errors.invalidCursor()
    const body = cursor.slice(0, dot)
    // Compared as text: base64url decoding ignores trailing bits, so a changed last character could decode alike.
    const given = Buffer.from(cursor.slice(dot + 1))
    const expected = Buffer.from(this.sign(body))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw errors.invalidCursor()
    const [cursorList, key] = Buffer.from(body, 'base64url').toString().split('\n')
    if (cursorList !== list || !key) throw errors.invalidCursor()
    return key
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16).toString('base64url')
  }
}

/**
 * A list request as the contract has it (API.md section 1), validated: `limit`,
 * one of `after`/`before` decoded from cursors of this `list`, and the `ids`
 * that narrow it (malformed ones can match nothing and are dropped).
 */
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
    limit: query.limit ?? 100,
    after: query.after === undefined ? undefined : cursors.decode(list, query.after),
    before: query.before === undefined ? undefined : cursors.decode(list, query.before),
    ids,
  }
}

/** `pageInfo` of a page of `list`: its flags and total, and cursors on its first and last rows. */
export function pageInfo(list: string, page: Page<unknown>, cursors: CursorCodec): PageInfo {
  return {
    total: page.total,
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    startCursor: page.startKey === null ? null : cursors.encode(list, page.startKey),
    endCursor: page.endKey === null ? null : cursors.encode(list, page.endKey),
  }
}

/** A list's answer: `{data, pageInfo}`. */
export function pageBody<T>(list: string, page: Page<T>, cursors: CursorCodec) {
  return { data: page.rows, pageInfo: pageInfo(list, page, cursors) }
}

/** A list route's answer: the query parsed for `list`, the page `read` for it, shaped with cursors. */
export async function listed<T>(
  list: string,
  idPrefix: IdPrefix,
  query: ListQuery,
  cursors: CursorCodec,
  read: (req: PageRequest) => Promise<Page<T>>,
) {
  return pageBody(list, await read(parseListQuery(list, idPrefix, query, cursors)), cursors)
}
