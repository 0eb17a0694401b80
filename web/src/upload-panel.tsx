import { useEffect, useState } from 'preact/hooks'
import { bytes } from './format.js'
import type { UploadItem, Uploads } from './uploads.js'

const LABEL: Record<UploadItem['state'], string> = {
  queued: 'Waiting',
  hashing: 'Checking for duplicates',
  duplicate: 'Already in this workspace',
  uploading: 'Uploading',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
  none: 'Not an image (listed under Files)',
  error: 'Upload failed',
  cancelled: 'Cancelled',
}

export function useUploads(uploads: Uploads): UploadItem[] {
  const [items, setItems] = useState(uploads.items)
  useEffect(() => uploads.subscribe(() => setItems(uploads.items)), [uploads])
  return items
}

/** The queue, bottom right: one row per file with its state, byte progress, and what can be done. */
export function UploadPanel({ uploads }: { uploads: Uploads }) {
  const items = useUploads(uploads)
  const [open, setOpen] = useState(true)
  if (items.length === 0) return null
  const busy = items.filter((i) => ['queued', 'hashing', 'uploading', 'processing'].includes(i.state)).length
  return (
    <aside class="uploads" aria-label="Uploads">
      <div class="uploads-head">
        <h2>
          Uploads{' '}
          <span class="muted">
            {busy > 0 ? `${busy} in progress` : 'done'} · {items.length} file{items.length === 1 ? '' : 's'}
          </span>
        </h2>
        <button type="button" onClick={() => uploads.clearFinished()}>
          Clear done
        </button>
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide' : 'Show'}
        </button>
      </div>
      {open ? (
        <ul class="upload-list">
          {items.map((item) => (
            <Row key={item.key} item={item} uploads={uploads} />
          ))}
        </ul>
      ) : null}
    </aside>
  )
}

function Row({ item, uploads }: { item: UploadItem; uploads: Uploads }) {
  const size = item.file.size
  const percent = size > 0 ? Math.min(100, Math.round((item.sent / size) * 100)) : 100
  return (
    <li class={`upload ${item.state}`} data-state={item.state} data-name={item.file.name}>
      <div class="upload-line">
        <span class="upload-name" title={item.file.name}>
          {item.file.name}
        </span>
        <span class="upload-size">{bytes(size)}</span>
      </div>
      {item.state === 'uploading' ? (
        <progress max={size || 1} value={item.sent} aria-label={`Uploading ${item.file.name}`}>
          {percent}%
        </progress>
      ) : null}
      <div class="upload-line">
        <span class="upload-state" role="status">
          {LABEL[item.state]}
          {item.state === 'uploading' ? ` ${percent}% (${bytes(item.sent)})` : ''}
          {item.error ? `: ${item.error}` : ''}
          {item.duplicateOf ? ` as “${item.duplicateOf.name}”` : ''}
        </span>
        <span class="upload-actions">
          {item.state === 'duplicate' ? (
            <button type="button" onClick={() => uploads.uploadAnyway(item.key)}>
              Upload anyway
            </button>
          ) : null}
          {['failed', 'error', 'cancelled'].includes(item.state) ? (
            <button type="button" onClick={() => uploads.retry(item.key)}>
              Retry
            </button>
          ) : null}
          {['queued', 'hashing', 'duplicate', 'uploading'].includes(item.state) ? (
            <button type="button" onClick={() => uploads.cancel(item.key)}>
              Cancel
            </button>
          ) : null}
        </span>
      </div>
    </li>
  )
}
