/** Longest file name, in UTF-8 bytes, most filesystems take (255) with room for a ` (123)` suffix. */
const MAX_BYTES = 240

/**
 * A name safe on every common filesystem: no path separators, control or
 * reserved characters (`<>:"/\\|?*`), no leading dot (it would hide the file) or
 * trailing dots and spaces (Windows drops them), not a reserved device name,
 * at most 240 bytes with its extension kept; `fallback` when nothing is left.
 */
export function safeFileName(name: string, fallback: string): string {
  let s = name
    .normalize('NFC')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '')
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(s)) s = `_${s}`
  if (s === '') s = fallback
  return cut(s)
}

/** `name`, or `name (2)`, `name (3)` … before the extension: the first not in `taken` (lowercase). */
export function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name.toLowerCase())) return name
  const dot = name.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
  for (let n = 2; ; n++) {
    const candidate = `${stem} (${n})${ext}`
    if (!taken.has(candidate.toLowerCase())) return candidate
  }
}

function cut(name: string): string {
  const bytes = (s: string) => new TextEncoder().encode(s).length
  if (bytes(name) <= MAX_BYTES) return name
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
  let stem = [...name.slice(0, name.length - ext.length)]
  while (stem.length > 0 && bytes(stem.join('') + ext) > MAX_BYTES) stem = stem.slice(0, -1)
  return stem.join('') + ext
}
