/** A plain text table: a header row, columns padded to their widest cell, numbers aligned right. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map(String))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => [...(row[i] ?? '')].length)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'))
  const line = (row: string[]) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length)
        return numeric[i] ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd()
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`
}

/** `2026-12-04 18:41` in UTC, from an ISO timestamp. */
export const shortTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`
