import type { components } from './schema.js'

export type PageInfo = components['schemas']['PageInfo']

export interface Page<T> {
  data: T[]
  pageInfo: PageInfo
}

/**
 * Every row of a list, page after page (`after` = the last page's
 * `endCursor`), without cursor handling: the API's list contract visits each
 * row that exists throughout exactly once, even while rows come and go.
 */
export async function* everyRow<T>(
  fetchPage: (after: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let after: string | undefined
  for (;;) {
    const page = await fetchPage(after)
    yield* page.data
    if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) return
    after = page.pageInfo.endCursor
  }
}

/** The `ids` parameter: a list of ids, or the comma-separated string the API takes. */
export const idList = (ids: readonly string[] | string | undefined): string | undefined =>
  ids === undefined ? undefined : typeof ids === 'string' ? ids : ids.join(',')
