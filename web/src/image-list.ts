import type { Image, PicturaClient } from '../../client/index.js'

/**
 * The images of a scope, newest first, as the gallery reads them: over the list
 * contract only (pages of 100 after a cursor, never offsets). Image `i` lives on
 * page `floor(i / 100)`; reaching a page means walking the cursors up to it, so
 * the cursor after every page seen is kept (a few dozen bytes each: 1,000 for
 * 100,000 images). Page contents are kept only near what is shown, so memory stays
 * bounded however far the user scrolls.
 */
export const PAGE = 100
const KEEP_PAGES = 12

export class ImageList {
  total: number | null = null
  private pages = new Map<number, Image[]>()
  /** after[p]: the cursor to ask page p with (page p-1's endCursor); after[0] is the start. */
  private after: (string | undefined)[] = [undefined]
  private loading: Promise<void> | null = null
  private wanted = 0
  private stopped = false
  error: unknown = null

  constructor(
    private readonly client: PicturaClient,
    private readonly workspaceId: string | undefined,
    private readonly changed: () => void,
  ) {}

  stop(): void {
    this.stopped = true
  }

  get(index: number): Image | undefined {
    return this.pages.get(Math.floor(index / PAGE))?.[index % PAGE]
  }

  /** Makes sure the pages holding `from`..`to` get loaded (walking cursors to them), then calls `changed`. */
  want(from: number, to: number): void {
    const first = Math.floor(Math.max(0, from) / PAGE)
    const last = Math.floor(Math.max(0, to) / PAGE)
    this.wanted = last
    this.keepNear(first, last)
    let missing = false
    for (let p = first; p <= last; p++) if (!this.pages.has(p)) missing = true
    if (missing || this.total === null) this.pump(first, last)
  }

  /** Forgets everything (after an upload or a delete): the next `want` starts from the first page again. */
  reset(): void {
    this.pages.clear()
    this.after = [undefined]
    this.error = null
  }

  private pump(first: number, last: number): void {
    if (this.loading) return
    this.loading = (async () => {
      try {
        for (let p = Math.min(first, this.after.length - 1); p <= Math.max(last, this.wanted); p++) {
          if (this.stopped) return
          if (this.total !== null && p * PAGE >= this.total) break
          if (this.pages.has(p) && this.after[p + 1] !== undefined) continue
          if (p >= this.after.length) break
          const page = await this.client.images.list({
            workspaceId: this.workspaceId,
            limit: PAGE,
            after: this.after[p],
          })
          if (this.stopped) return
          this.total = page.pageInfo.total
          this.after[p + 1] = page.pageInfo.endCursor ?? undefined
          // Pages walked through on the way are not kept: only their cursor is.
          if (p >= first - 1) this.pages.set(p, page.data)
          this.error = null
          this.changed()
          if (!page.pageInfo.hasNextPage) {
            this.total = p * PAGE + page.data.length
            break
          }
        }
      } catch (err) {
        this.error = err
        this.changed()
      } finally {
        this.loading = null
      }
      // The view may have moved while this ran.
      if (!this.stopped && this.error === null) this.changed()
    })()
  }

  private keepNear(first: number, last: number): void {
    if (this.pages.size <= KEEP_PAGES) return
    for (const p of [...this.pages.keys()])
      if (p < first - KEEP_PAGES / 2 || p > last + KEEP_PAGES / 2) this.pages.delete(p)
  }
}
