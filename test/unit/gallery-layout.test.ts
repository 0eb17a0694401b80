import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GAP, grid, MAX_HEIGHT } from '../../web/src/layout.js'

/** The gallery's geometry: bounded height and DOM, every row reachable, for 100 to 10 million images. */

const BROWSER_LIMIT = 16_777_216

for (const [width, viewport] of [
  [1280, 740],
  [390, 700],
] as const) {
  test(`at ${width} px the rows in the DOM stay few and the last row is reachable, up to 10M images`, () => {
    for (const total of [1, 100, 250, 100_000, 1_000_000, 10_000_000]) {
      const top = grid({ width, viewport, total, scrollTop: 0 })
      assert.ok(top.height < BROWSER_LIMIT && top.height <= MAX_HEIGHT, `${total}: height ${top.height}`)
      assert.equal(top.firstRow, 0)
      const cells = (g: ReturnType<typeof grid>) => (g.lastRow - g.firstRow + 1) * g.columns
      assert.ok(cells(top) < 400, `${total}: ${cells(top)} cells at the top`)
      // At the end of the scroll range the last row is rendered and fully in view.
      const end = Math.max(0, top.height - viewport)
      const bottom = grid({ width, viewport, total, scrollTop: end })
      assert.equal(bottom.lastRow, top.rows - 1, `${total}: last row rendered`)
      assert.ok(bottom.inView(top.rows - 1), `${total}: last row in view`)
      assert.ok(
        bottom.rowTop(top.rows - 1) + bottom.rowHeight <= end + viewport + GAP,
        `${total}: above the bottom`,
      )
      assert.ok(cells(bottom) < 400)
      // Every row is in view at some scroll position: scrollTopFor puts it there.
      const sample = [0, 1, Math.floor(top.rows / 3), Math.floor(top.rows / 2), top.rows - 2, top.rows - 1]
      for (const row of new Set(sample.filter((r) => r >= 0 && r < top.rows))) {
        const at = grid({ width, viewport, total, scrollTop: top.scrollTopFor(row) })
        assert.ok(at.firstRow <= row && row <= at.lastRow, `${total}: row ${row} rendered`)
        assert.ok(
          at.inView(row) || at.rowHeight > viewport || top.rows * at.rowHeight < viewport,
          `${total}: row ${row} in view`,
        )
      }
    }
  })
}

test('below the cap, rows sit at their natural place and scrolling is one to one', () => {
  const g = grid({ width: 1280, viewport: 740, total: 1000, scrollTop: 500 })
  assert.equal(g.scale, 1)
  assert.equal(g.rowTop(3), 3 * g.rowHeight + GAP)
  assert.ok(g.columns >= 6)
})

test('consecutive scroll positions never skip a row, even compressed', () => {
  const total = 1_000_000
  const viewport = 740
  let previous = grid({ width: 1280, viewport, total, scrollTop: 0 })
  assert.ok(previous.scale > 1, 'compressed')
  // Scrolling by half a viewport at a time: each step's rows overlap the last one's.
  for (let top = viewport / 2; top < 40_000; top += viewport / 2) {
    const g = grid({ width: 1280, viewport, total, scrollTop: top })
    assert.ok(g.firstRow <= previous.lastRow + 1, `a gap at scrollTop ${top}`)
    previous = g
  }
})
