import { useEffect, useRef, useState } from 'preact/hooks'
import type { FileObject, Image, PicturaClient } from '../../client/index.js'
import { bytes, date, exifSummary, tagValue } from './format.js'
import type { ImageList } from './image-list.js'
import { describe } from './session.js'
import { largeSrcset, placeholder, variantUrl } from './thumb.js'

const NAMED_VARIANTS = ['public', 'thumbnail'] as const

interface Props {
  client: PicturaClient
  list: ImageList
  index: number
  onIndex: (index: number) => void
  onClose: () => void
  onChanged: () => void
  canEdit: boolean
}

/** One image at screen size with what is known of it; arrows move, Esc closes (focus goes back to its tile). */
export function Lightbox({ client, list, index, onIndex, onClose, onChanged, canEdit }: Props) {
  const image = list.get(index)
  const total = list.total ?? 0
  const dialog = useRef<HTMLDivElement>(null)
  const [file, setFile] = useState<FileObject | null>(null)
  const [confirming, setConfirming] = useState(false)
  const [status, setStatus] = useState<string | null>(null)
  const [deleted, setDeleted] = useState<Image | null>(null)

  useEffect(() => {
    list.want(index - 1, index + 1)
  }, [list, index])

  useEffect(() => {
    setFile(null)
    setConfirming(false)
    setStatus(null)
    setDeleted(null)
    if (!image) return
    let live = true
    client.files
      .get(image.fileId)
      .then((f) => live && setFile(f))
      .catch(() => {})
    return () => {
      live = false
    }
  }, [image?.id])

  useEffect(() => {
    dialog.current?.focus()
  }, [])

  const move = (by: number) => {
    const next = index + by
    if (next >= 0 && next < total) onIndex(next)
  }

  // On the window, so the keys work wherever focus is (a button that went away leaves it on the body).
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault()
      onClose()
    } else if (e.key === 'ArrowRight' && !(e.target instanceof HTMLInputElement)) {
      e.preventDefault()
      move(1)
    } else if (e.key === 'ArrowLeft' && !(e.target instanceof HTMLInputElement)) {
      e.preventDefault()
      move(-1)
    } else if (e.key === 'Tab') trapFocus(e, dialog.current)
  }

  // The listener stays; the handler is this render's (an effect would leave the last one's for a frame).
  const keys = useRef(onKey)
  keys.current = onKey
  useEffect(() => {
    const listener = (e: KeyboardEvent) => keys.current(e)
    window.addEventListener('keydown', listener)
    return () => window.removeEventListener('keydown', listener)
  }, [])

  const shown = deleted ?? image
  const download = async () => {
    if (!shown) return
    try {
      setStatus('Downloading…')
      await saveOriginal(client, shown.fileId, file?.name ?? shown.id)
      setStatus(null)
    } catch (err) {
      setStatus(`Download failed: ${describe(err)}`)
    }
  }
  const remove = async () => {
    if (!image) return
    try {
      await client.images.delete(image.id)
      setDeleted(image)
      setConfirming(false)
      dialog.current?.focus()
      setStatus('Image deleted. The file and its bytes stay (see Files).')
      onChanged()
    } catch (err) {
      setStatus(`Delete failed: ${describe(err)}`)
    }
  }
  const reprovision = async () => {
    if (!shown) return
    try {
      await client.images.provision(shown.fileId)
      setStatus('Provisioning again: the image comes back in the gallery when ready.')
      onChanged()
    } catch (err) {
      setStatus(`Could not provision again: ${describe(err)}`)
    }
  }

  return (
    <div class="lightbox-backdrop">
      <div
        class="lightbox"
        role="dialog"
        aria-modal="true"
        aria-labelledby="lightbox-title"
        tabIndex={-1}
        ref={dialog}
      >
        <div class="stage">
          {shown ? (
            <img
              key={shown.id}
              class="full"
              src={variantUrl(shown.url, 'w=1280,format=auto')}
              srcset={largeSrcset(shown.url)}
              sizes="(max-width: 900px) 100vw, 70vw"
              width={shown.width}
              height={shown.height}
              alt={file ? `${file.name}` : `Image ${index + 1}`}
              style={{
                aspectRatio: `${shown.width} / ${shown.height}`,
                backgroundImage: placeholder(shown.thumbhash)
                  ? `url("${placeholder(shown.thumbhash)}")`
                  : undefined,
              }}
            />
          ) : (
            <p class="state">Loading…</p>
          )}
          <button
            type="button"
            class="nav prev"
            onClick={() => move(-1)}
            disabled={index === 0}
            aria-label="Previous image"
          >
            ‹
          </button>
          <button
            type="button"
            class="nav next"
            onClick={() => move(1)}
            disabled={index >= total - 1}
            aria-label="Next image"
          >
            ›
          </button>
        </div>
        <aside class="details" aria-label="Image details">
          <div class="details-head">
            <h2 id="lightbox-title">{file?.name ?? (shown ? shown.id : 'Image')}</h2>
            <button type="button" class="close" onClick={onClose} aria-label="Close (Esc)">
              ✕
            </button>
          </div>
          <p class="muted">
            {index + 1} of {total}
          </p>
          {shown ? <Facts image={shown} file={file} /> : null}
          {status ? (
            <p class="status" role="status">
              {status}
            </p>
          ) : null}
          <div class="actions">
            <button type="button" onClick={download} disabled={!shown}>
              Download original
            </button>
            {canEdit && deleted ? (
              <button type="button" onClick={reprovision}>
                Provision again
              </button>
            ) : null}
            {canEdit && !deleted && image && !confirming ? (
              <button type="button" class="danger" onClick={() => setConfirming(true)}>
                Delete…
              </button>
            ) : null}
          </div>
          {confirming ? (
            <div class="confirm">
              <p>Delete this image? Its delivery URLs stop working; the original file stays in Files.</p>
              <button type="button" class="danger" onClick={remove}>
                Delete image
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          ) : null}
        </aside>
      </div>
    </div>
  )
}

function Facts({ image, file }: { image: Image; file: FileObject | null }) {
  const exif = image.exif as Record<string, unknown>
  const summary = exifSummary(exif)
  const all = Object.entries(exif)
  return (
    <>
      <dl class="facts">
        <dt>Dimensions</dt>
        <dd>
          {image.width} × {image.height} px
        </dd>
        <dt>Size</dt>
        <dd>{bytes(image.size)}</dd>
        {file ? (
          <>
            <dt>Type</dt>
            <dd>{file.mime}</dd>
          </>
        ) : null}
        <dt>Added</dt>
        <dd>{date(image.createdAt)}</dd>
      </dl>
      <h3>EXIF</h3>
      {summary.length === 0 ? (
        <p class="muted">No EXIF in this file.</p>
      ) : (
        <table class="exif">
          <caption class="sr-only">EXIF summary</caption>
          <tbody>
            {summary.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {all.length > 0 ? (
        <details>
          <summary>All {all.length} tags</summary>
          <table class="exif">
            <tbody>
              {all.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{tagValue(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
      <h3>Delivery URLs</h3>
      <ul class="variants">
        {NAMED_VARIANTS.map((v) => (
          <li key={v}>
            <span class="variant-name">{v}</span>
            <input readOnly value={variantUrl(image.url, v)} aria-label={`URL of the ${v} variant`} />
            <CopyButton text={variantUrl(image.url, v)} label={`Copy the ${v} URL`} />
          </li>
        ))}
      </ul>
    </>
  )
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text)
          setDone(true)
          setTimeout(() => setDone(false), 1500)
        } catch {
          setDone(false)
        }
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  )
}

/** Downloads a file's original through the API (the token goes in a header, never in a URL). */
export async function saveOriginal(client: PicturaClient, fileId: string, name: string): Promise<void> {
  const res = await client.files.download(fileId)
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Keeps Tab inside the dialog. */
export function trapFocus(e: KeyboardEvent, root: HTMLElement | null) {
  if (!root) return
  const focusable = [
    ...root.querySelectorAll<HTMLElement>(
      'button:not([disabled]), input, summary, a[href], select, textarea',
    ),
  ]
  const first = focusable[0]
  const last = focusable[focusable.length - 1]
  if (!first || !last) return
  if (e.shiftKey && (document.activeElement === first || document.activeElement === root)) {
    e.preventDefault()
    last.focus()
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault()
    first.focus()
  }
}
