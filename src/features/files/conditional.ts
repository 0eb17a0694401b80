/** HTTP validators and ranges for downloads (RFC 9110 sections 13 and 14). */

export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

export const etagOf = (sha256: string) => `"${sha256}"`

/** `If-None-Match` uses the weak comparison: `W/"x"` matches `"x"`; `*` matches any current file. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}

/**
 * One `bytes=` range (first-last, first-, or -suffix), clamped to the size.
 * A malformed header, several ranges, or an `If-Range` that names another
 * version are ignored (the full body is served), as RFC 9110 allows; a
 * well-formed range that starts past the end is unsatisfiable.
 */
export function parseRange(
  header: string | undefined,
  size: number,
  ifRange: string | undefined,
  etag: string,
): RangeRequest {
  if (header === undefined) return { kind: 'full' }
  // If-Range only takes strong validators; a date is never ours (we send no Last-Modified to compare).
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'full' }
  const match = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim())
  if (!match) return { kind: 'full' }
  const [, first, last] = match
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}
