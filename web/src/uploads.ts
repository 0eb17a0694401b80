import type { FileObject, PicturaClient } from '../../client/index.js'
import { PicturaError } from '../../client/index.js'
import { describe } from './session.js'

/**
 * The upload queue: every dropped or picked file becomes an item that goes
 * hashing → (duplicate?) → queued → uploading (bytes sent) → processing
 * (the server provisions it) → ready | failed (reason) | none (not an image).
 * At most CONCURRENCY files are hashed or sent at once, so dropping hundreds
 * neither freezes the tab nor floods the server; a failing file fails alone
 * and can be retried; any item can be cancelled. Before sending, the file's
 * SHA-256 is looked up in the workspace (`GET /api/files?sha256=`): a match is
 * flagged as a duplicate and waits for the user's choice.
 */
export type UploadState =
  | 'queued'
  | 'hashing'
  | 'duplicate'
  | 'uploading'
  | 'processing'
  | 'ready'
  | 'failed'
  | 'none'
  | 'error'
  | 'cancelled'

export interface UploadItem {
  key: number
  file: File
  workspaceId: string
  state: UploadState
  sent: number
  sha256: string | null
  /** Skip the duplicate check (the user chose "upload anyway"). */
  force: boolean
  duplicateOf: FileObject | null
  stored: FileObject | null
  error: string | null
  abort: AbortController | null
}

const CONCURRENCY = 3
const POLL_MS = 700
const ACTIVE: UploadState[] = ['hashing', 'uploading']

export class Uploads {
  items: UploadItem[] = []
  private next = 1
  private listeners = new Set<() => void>()

  constructor(
    private readonly client: PicturaClient,
    private readonly onStored: () => void,
    private readonly onUnauthorized: (err: unknown) => void,
  ) {}

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(): void {
    this.items = [...this.items]
    for (const fn of this.listeners) fn()
  }

  add(files: Iterable<File>, workspaceId: string): void {
    for (const file of files)
      this.items.push({
        key: this.next++,
        file,
        workspaceId,
        state: 'queued',
        sent: 0,
        sha256: null,
        force: false,
        duplicateOf: null,
        stored: null,
        error: null,
        abort: null,
      })
    this.emit()
    this.pump()
  }

  cancel(key: number): void {
    const item = this.find(key)
    if (!item || !['queued', 'hashing', 'duplicate', 'uploading'].includes(item.state)) return
    item.abort?.abort()
    this.set(item, { state: 'cancelled', abort: null })
    this.pump()
  }

  retry(key: number): void {
    const item = this.find(key)
    if (!item) return
    if (item.state === 'failed' && item.stored) {
      // The bytes are on the server: provisioning is what failed; ask for it again.
      void this.reprovision(item)
      return
    }
    this.set(item, { state: 'queued', sent: 0, error: null, stored: null })
    this.pump()
  }

  uploadAnyway(key: number): void {
    const item = this.find(key)
    if (item?.state !== 'duplicate') return
    this.set(item, { state: 'queued', force: true })
    this.pump()
  }

  clearFinished(): void {
    this.items = this.items.filter((i) => !['ready', 'none', 'cancelled'].includes(i.state))
    this.emit()
  }

  private find(key: number) {
    return this.items.find((i) => i.key === key)
  }

  private set(item: UploadItem, patch: Partial<UploadItem>): void {
    Object.assign(item, patch)
    this.emit()
  }

  private pump(): void {
    let running = this.items.filter((i) => ACTIVE.includes(i.state)).length
    for (const item of this.items) {
      if (running >= CONCURRENCY) break
      if (item.state !== 'queued') continue
      running++
      void this.run(item)
    }
  }

  private async run(item: UploadItem): Promise<void> {
    const abort = new AbortController()
    this.set(item, { abort, state: 'hashing' })
    try {
      if (!item.force) {
        item.sha256 ??= await sha256(item.file)
        if (abort.signal.aborted) return
        if (item.sha256) {
          const [match] = await this.client.files.findBySha256(item.sha256, { workspaceId: item.workspaceId })
          if (abort.signal.aborted) return
          if (match) {
            this.set(item, { state: 'duplicate', duplicateOf: match, abort: null })
            return
          }
        }
      }
      this.set(item, { state: 'uploading', sent: 0 })
      const stored = await this.client.files.upload(item.file, {
        workspaceId: item.workspaceId,
        name: item.file.name,
        signal: abort.signal,
        onProgress: ({ sent }) => {
          if (item.state === 'uploading') this.set(item, { sent })
        },
      })
      if (abort.signal.aborted) return
      this.set(item, { state: 'processing', stored, sent: item.file.size, abort: null })
      this.onStored()
      void this.watch(item)
    } catch (err) {
      if (abort.signal.aborted || item.state === 'cancelled') return
      this.onUnauthorized(err)
      this.set(item, { state: 'error', error: describe(err), abort: null })
    } finally {
      this.pump()
    }
  }

  /** Follows the stored file until its image is ready, failed, or it is not an image. */
  private async watch(item: UploadItem): Promise<void> {
    let file = item.stored
    while (file && item.state === 'processing') {
      const status = file.image.status
      if (status === 'ready') {
        this.set(item, { state: 'ready', stored: file })
        this.onStored()
        return
      }
      if (status === 'failed') {
        this.set(item, { state: 'failed', stored: file, error: file.image.error ?? 'Provisioning failed' })
        return
      }
      if (status === 'none') {
        this.set(item, { state: 'none', stored: file })
        return
      }
      await new Promise((r) => setTimeout(r, POLL_MS))
      try {
        file = await this.client.files.get(file.id)
      } catch (err) {
        if (err instanceof PicturaError && err.status === 404) {
          this.set(item, { state: 'error', error: 'The file was deleted meanwhile' })
          return
        }
        this.onUnauthorized(err)
      }
    }
  }

  private async reprovision(item: UploadItem): Promise<void> {
    if (!item.stored) return
    try {
      const file = await this.client.images.provision(item.stored.id)
      this.set(item, { state: 'processing', stored: file, error: null })
      void this.watch(item)
    } catch (err) {
      this.onUnauthorized(err)
      this.set(item, { error: describe(err) })
    }
  }
}

/** Hex SHA-256 of a file, or null where the browser offers no WebCrypto (plain http off localhost). */
async function sha256(file: File): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer())
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
