/**
 * The gallery's geometry, pure (unit-tested without a browser): square cells in
 * as many columns as fit, rows of one height, and the scroll range. Browsers
 * cap an element's height near 16.7 million px (Chromium 16,777,216; Firefox
 * less), which a plain virtual list passes at a few hundred thousand images; past
 * MAX_HEIGHT the scroll range is compressed instead: scrolling by one pixel
 * moves the rows by `scale` pixels, so the last row is reached at the end of
 * the range whatever the count.
 */
export const MAX_HEIGHT = 8_000_000
export const MIN_CELL = 180
export const GAP = 8
const OVERSCAN_ROWS = 2

export interface GridInput {
  /** The scroller's inner width and height, px. */
  width: number
  viewport: number
  total: number
  scrollTop: number
}

export interface Grid {
  columns: number
  cell: number
  rowHeight: number
  rows: number
  /** The scroll content's height: the rows' real height, at most MAX_HEIGHT. */
  height: number
  /** Row pixels per scroll pixel (1 below MAX_HEIGHT). */
  scale: number
  /** The rows to render, overscan included (lastRow < firstRow when there are none). */
  firstRow: number
  lastRow: number
  /** Where a row's cells go in the scroll content, px from its top, for this scroll position. */
  rowTop: (row: number) => number
  /** The scroll position that shows `row` in the middle of the viewport. */
  scrollTopFor: (row: number) => number
  /** Whether the whole row is in view at this scroll position. */
  inView: (row: number) => boolean
}

export function grid({ width, viewport, total, scrollTop }: GridInput): Grid {
  const columns = Math.max(2, Math.floor((width + GAP) / (MIN_CELL + GAP)))
  const cell = width > 0 ? Math.max(1, (width - GAP * (columns + 1)) / columns) : MIN_CELL
  const rowHeight = cell + GAP
  const rows = Math.ceil(total / columns)
  const realHeight = rows * rowHeight + GAP
  const height = Math.min(realHeight, MAX_HEIGHT)
  const scale = realHeight > height ? (realHeight - viewport) / Math.max(1, height - viewport) : 1
  const logicalTop = scrollTop * scale
  const firstRow = Math.max(0, Math.floor(logicalTop / rowHeight) - OVERSCAN_ROWS)
  const lastRow = Math.min(rows - 1, Math.ceil((logicalTop + viewport) / rowHeight) + OVERSCAN_ROWS)
  const realTop = (row: number) => row * rowHeight + GAP
  return {
    columns,
    cell,
    rowHeight,
    rows,
    height,
    scale,
    firstRow,
    lastRow,
    // The rows sit where they would in the full height, shifted by the part of the scroll the compression skips.
    rowTop: (row) => scrollTop + (realTop(row) - logicalTop),
    scrollTopFor: (row) =>
      Math.min(height - viewport, Math.max(0, (realTop(row) - (viewport - rowHeight) / 2) / scale)),
    inView: (row) => realTop(row) >= logicalTop && realTop(row) + rowHeight <= logicalTop + viewport,
  }
}
