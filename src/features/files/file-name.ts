/** Longest stored name, in characters; the tail (extension) survives the cut. */
export const MAX_NAME_LENGTH = 255
const MAX_EXTENSION = 16

// C0/C1 controls and DEL, line/paragraph separators, and the bidi controls that
// make `gpj.exe` read as `exe.jpg`.
const UNSAFE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/gu

/**
 * A client's file name reduced to something safe to store and show: the last
 * path segment, no control or bidi characters, NFC, at most 255 characters.
 * Undefined when nothing usable is left (the caller falls back to the file id).
 * The name is only ever data: never part of a storage key or a header verbatim.
 */
export function safeFileName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  const base = raw.normalize('NFC').replace(UNSAFE, '').split(/[/\\]/).pop() ?? ''
  const name = base.trim()
  if (name === '' || name === '.' || name === '..') return undefined
  return truncate(name)
}

function truncate(name: string): string {
  const chars = Array.from(name)
  if (chars.length <= MAX_NAME_LENGTH) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 ? Array.from(name.slice(dot)) : []
  const keep = extension.length > 1 && extension.length <= MAX_EXTENSION ? extension : []
  return chars.slice(0, MAX_NAME_LENGTH - keep.length).join('') + keep.join('')
}

/**
 * `Content-Disposition` per RFC 6266: an ASCII fallback in `filename` (quotes,
 * backslashes, percent signs and non-ASCII replaced) and the exact name in
 * `filename*` as percent-encoded UTF-8, so no name can break out of the header.
 */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`
}
