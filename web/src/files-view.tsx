import { useEffect, useState } from 'preact/hooks'
import type { FileObject, PicturaClient } from '../../client/index.js'
import { bytes, count, date } from './format.js'
import { saveOriginal } from './lightbox.js'
import { describe } from './session.js'

interface Props {
  client: PicturaClient
  workspaceId: string | undefined
  version: number
  canEditIn: (workspaceId: string) => boolean
  onChanged: () => void
  onUnauthorized: (err: unknown) => void
}

/** Every file of the workspace, images or not: type, size, image status; download, delete, provision again. */
export function FilesView({ client, workspaceId, version, canEditIn, onChanged, onUnauthorized }: Props) {
  const [rows, setRows] = useState<FileObject[]>([])
  const [total, setTotal] = useState<number | null>(null)
  const [after, setAfter] = useState<string | null>(null)
  const [more, setMore] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [confirm, setConfirm] = useState<string | null>(null)
  const [status, setStatus] = useState<string | null>(null)

  const load = async (cursor: string | null) => {
    setBusy(true)
    try {
      const page = await client.files.list({ workspaceId, limit: 100, after: cursor ?? undefined })
      setRows((r) => (cursor ? [...r, ...page.data] : page.data))
      setTotal(page.pageInfo.total)
      setAfter(page.pageInfo.endCursor)
      setMore(page.pageInfo.hasNextPage)
      setError(null)
    } catch (err) {
      onUnauthorized(err)
      setError(describe(err))
    } finally {
      setBusy(false)
    }
  }
  useEffect(() => {
    void load(null)
  }, [workspaceId, version])

  const act = async (what: string, call: () => Promise<unknown>): Promise<boolean> => {
    try {
      await call()
      setStatus(what)
      onChanged()
      return true
    } catch (err) {
      onUnauthorized(err)
      setStatus(describe(err))
      return false
    }
  }

  /** Asks for the image again, then follows the file until it settles: both views load again then. */
  const provisionAgain = async (fileId: string) => {
    if (!(await act('Provisioning again.', () => client.images.provision(fileId)))) return
    try {
      await client.waitForImage(fileId, { timeoutMs: 10 * 60_000 })
    } catch (err) {
      // Failed, deleted meanwhile, or the wait gave up: the views show what the file says now.
      onUnauthorized(err)
    }
    onChanged()
  }

  return (
    <section aria-labelledby="files-title" class="page">
      <div class="toolbar">
        <h1 id="files-title">Files</h1>
        <p class="total">{total === null ? 'Loading…' : `${count(total)} file${total === 1 ? '' : 's'}`}</p>
      </div>
      {status ? (
        <p class="status" role="status">
          {status}
        </p>
      ) : null}
      {error ? (
        <div class="state error" role="alert">
          <p>The files could not be loaded: {error}</p>
          <button type="button" onClick={() => load(null)}>
            Retry
          </button>
        </div>
      ) : null}
      {total === 0 ? <p class="state empty">No files yet. Drop some on the page to upload them.</p> : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table class="files">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Size</th>
                <th scope="col">Image</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((f) => (
                <tr key={f.id} data-file-id={f.id}>
                  <td class="name">{f.name}</td>
                  <td>{f.mime}</td>
                  <td>{bytes(f.size)}</td>
                  <td>
                    <span class={`badge ${f.image.status}`}>{f.image.status}</span>
                    {f.image.error ? <span class="muted"> {f.image.error}</span> : null}
                  </td>
                  <td>{date(f.createdAt)}</td>
                  <td class="row-actions">
                    <button type="button" onClick={() => saveOriginal(client, f.id, f.name)}>
                      Download
                    </button>
                    {canEditIn(f.workspaceId) &&
                    (f.image.status === 'failed' || f.image.status === 'deleted') ? (
                      <button type="button" onClick={() => void provisionAgain(f.id)}>
                        Provision again
                      </button>
                    ) : null}
                    {canEditIn(f.workspaceId) && confirm !== f.id ? (
                      <button type="button" class="danger" onClick={() => setConfirm(f.id)}>
                        Delete…
                      </button>
                    ) : null}
                    {confirm === f.id ? (
                      <>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => {
                            setConfirm(null)
                            void act(`Deleted ${f.name}.`, () => client.files.delete(f.id))
                          }}
                        >
                          Delete file and image
                        </button>
                        <button type="button" onClick={() => setConfirm(null)}>
                          Cancel
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {more ? (
        <button type="button" disabled={busy} onClick={() => load(after)}>
          {busy ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  )
}
