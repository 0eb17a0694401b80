import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { Image, PicturaClient } from '../../client/index.js'
import { count, date } from './format.js'
import { ImageList } from './image-list.js'
import { GAP, grid } from './layout.js'
import { describe } from './session.js'
import { placeholder, srcset } from './thumb.js'

/**
 * The gallery: a virtualised grid of square cells (geometry in layout.ts), each
 * holding a box of its image's aspect ratio (reserved from width and height
 * before any byte arrives) painted with the image's thumbhash until the image
 * loads. Only the rows in view (and a few around) exist in the DOM, so a
 * workspace of 100,000 images has a few dozen <img> at a time.
 */

export interface GalleryHandle {
  list: ImageList
  focusTile: (index: number) => void
}

interface Props {
  client: PicturaClient
  workspaceId: string | undefined
  /** Changes when images were added or removed: the list starts again. */
  version: number
  onOpen: (index: number, list: ImageList) => void
  handle: (h: GalleryHandle | null) => void
  onUnauthorized: (err: unknown) => void
  onUpload: () => void
}

export function Gallery({ client, workspaceId, version, onOpen, handle, onUnauthorized, onUpload }: Props) {
  const [, setTick] = useState(0)
  const scroller = useRef<HTMLDivElement>(null)
  const [size, setSize] = useState({ width: 0, height: 0 })
  const [scrollTop, setScrollTop] = useState(0)
  const pendingFocus = useRef<number | null>(null)

  const list = useMemo(
    () => new ImageList(client, workspaceId, () => setTick((t) => t + 1)),
    [client, workspaceId, version],
  )
  useEffect(() => () => list.stop(), [list])
  useEffect(() => {
    if (list.error) onUnauthorized(list.error)
  })
  // A new list (after an upload or a delete) replaces the one shown once its first page is in: no blank grid.
  const previous = useRef<ImageList | null>(null)
  const ready = list.total !== null || list.error !== null
  const shown = ready || !previous.current ? list : previous.current
  if (ready) previous.current = list

  useLayoutEffect(() => {
    const el = scroller.current
    if (!el) return
    const measure = () => setSize({ width: el.clientWidth, height: el.clientHeight })
    measure()
    const observer = new ResizeObserver(measure)
    observer.observe(el)
    return () => observer.disconnect()
  }, [])

  const g = grid({ width: size.width, viewport: size.height, total: shown.total ?? 0, scrollTop })
  const { columns, cell, firstRow, lastRow } = g
  const total = shown.total ?? 0

  useEffect(() => {
    if (size.width === 0) return
    if (list.total === null) list.want(0, PAGE_HINT)
    if (shown.total !== null && g.rows > 0)
      shown.want(firstRow * columns, Math.min(total - 1, (lastRow + 1) * columns - 1))
  })

  handle({
    list: shown,
    focusTile: (index: number) => {
      const el = scroller.current
      if (!el) return
      const row = Math.floor(index / columns)
      if (!g.inView(row)) el.scrollTop = g.scrollTopFor(row)
      pendingFocus.current = index
      setTick((t) => t + 1)
    },
  })
  // Focus goes to a tile once it is rendered with its image (the list may be loading again).
  useEffect(() => {
    const index = pendingFocus.current
    if (index === null) return
    const tile = scroller.current?.querySelector<HTMLElement>(`button[data-index="${index}"]`)
    if (tile) {
      pendingFocus.current = null
      tile.focus({ preventScroll: true })
    }
  })

  const tiles = []
  for (let row = firstRow; row <= lastRow; row++) {
    for (let col = 0; col < columns; col++) {
      const index = row * columns + col
      if (index >= total) break
      const top = g.rowTop(row)
      const left = GAP + col * (cell + GAP)
      tiles.push(
        <Tile
          key={index}
          index={index}
          image={shown.get(index)}
          top={top}
          left={left}
          cell={cell}
          columns={columns}
          onOpen={() => onOpen(index, shown)}
        />,
      )
    }
  }

  const loading = shown.total === null && !list.error

  // Arrow keys move between tiles, Home and End go to the newest and the oldest image.
  const onKeyDown = (e: KeyboardEvent) => {
    const from = Number((e.target as HTMLElement).getAttribute('data-index'))
    if (Number.isNaN(from) || total === 0) return
    const by: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: columns,
      ArrowUp: -columns,
      PageDown: columns * 3,
      PageUp: -columns * 3,
    }
    let to: number
    if (e.key === 'Home') to = 0
    else if (e.key === 'End') to = total - 1
    else if (by[e.key] !== undefined) to = Math.min(total - 1, Math.max(0, from + (by[e.key] ?? 0)))
    else return
    e.preventDefault()
    const el = scroller.current
    const row = Math.floor(to / columns)
    if (el && !g.inView(row)) el.scrollTop = g.scrollTopFor(row)
    pendingFocus.current = to
    setTick((t) => t + 1)
  }
  return (
    <section class="gallery" aria-labelledby="gallery-title">
      <div class="toolbar">
        <h1 id="gallery-title">Images</h1>
        <p class="total" aria-live="polite">
          {shown.total === null ? 'Loading…' : `${count(shown.total)} image${shown.total === 1 ? '' : 's'}`}
        </p>
      </div>
      {list.error ? (
        <div class="state error" role="alert">
          <p>The images could not be loaded: {describe(list.error)}</p>
          <button
            type="button"
            onClick={() => {
              list.reset()
              setTick((t) => t + 1)
            }}
          >
            Retry
          </button>
        </div>
      ) : null}
      {shown.total === 0 ? (
        <div class="state empty">
          <p>No images here yet.</p>
          <p>
            Drop photos anywhere on this page, or{' '}
            <button type="button" class="link" onClick={onUpload}>
              choose files
            </button>
            .
          </p>
        </div>
      ) : null}
      <div
        class="scroller"
        ref={scroller}
        tabIndex={-1}
        aria-busy={loading}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
      >
        <ul
          class="grid"
          style={{ height: `${g.height}px` }}
          aria-label="Images, newest first (arrow keys move, Home and End go to the newest and oldest)"
          onKeyDown={onKeyDown}
        >
          {tiles}
        </ul>
      </div>
    </section>
  )
}

const PAGE_HINT = 99

interface TileProps {
  index: number
  image: Image | undefined
  top: number
  left: number
  cell: number
  columns: number
  onOpen: () => void
}

function Tile({ index, image, top, left, cell, columns, onOpen }: TileProps) {
  // Keyed by image: a tile reused for another image starts unloaded, a cached image that loads at once stays loaded.
  const [loadedId, setLoadedId] = useState<string | null>(null)
  const loaded = image !== undefined && loadedId === image.id
  const style = { top: `${top}px`, left: `${left}px`, width: `${cell}px`, height: `${cell}px` }
  if (!image)
    return (
      <li class="cell" style={style} data-index={index}>
        <div class="box loading" />
      </li>
    )
  const ratio = image.width / image.height
  const boxWidth = ratio >= 1 ? cell : cell * ratio
  const boxHeight = ratio >= 1 ? cell / ratio : cell
  const hash = placeholder(image.thumbhash)
  return (
    <li class="cell" style={style}>
      <button
        type="button"
        class="box"
        data-index={index}
        data-image-id={image.id}
        aria-label={`Image ${index + 1}, ${image.width}×${image.height}, added ${date(image.createdAt)}`}
        style={{
          width: `${boxWidth}px`,
          height: `${boxHeight}px`,
          backgroundImage: hash && !loaded ? `url("${hash}")` : undefined,
        }}
        onClick={onOpen}
      >
        <img
          src={image.url.replace(/\/public$/, '/w=320,format=auto')}
          srcset={srcset(image.url)}
          sizes={`(max-width: 600px) 50vw, ${Math.ceil(100 / columns)}vw`}
          width={image.width}
          height={image.height}
          alt=""
          decoding="async"
          loading="lazy"
          class={loaded ? 'loaded' : ''}
          onLoad={() => setLoadedId(image.id)}
        />
      </button>
    </li>
  )
}
