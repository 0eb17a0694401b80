import { randomUUID } from 'node:crypto'
import { createWriteStream, type Dirent } from 'node:fs'
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AppError, errors } from '../../shared/errors.js'
import type { BlobEntry, BlobStore, PutResult } from './blob-store.js'
import { DirSync } from './dir-sync.js'
import { Meter } from './meter.js'

// Keys are `<workspaceId>/<fileId>`-like: segments of id characters, so a key can never climb out of the root.
const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/
const PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]*)*$/
const TMP_DIR = '.tmp'
/** A temp file of a live process that is older than this is abandoned (its pid was reused). */
const STALE_TMP_MS = 24 * 60 * 60 * 1000

/**
 * Blobs as files under `root` (DATA_DIR/blobs). A put streams into a temp file
 * in `root/.tmp` on the same file system, fsyncs it, renames it into place and
 * fsyncs the directory, so a blob appears whole or not at all, also across a
 * crash. Temp files carry the writer's pid, so start-up clean-up of one process
 * never removes uploads in flight in another process sharing DATA_DIR.
 *
 * On the upload path every file system call waits its turn in libuv's thread
 * pool: a put makes the folders it needs only when a rename finds them
 * missing, and concurrent puts into one folder share its fsync (DirSync).
 */
export class FsBlobStore implements BlobStore {
  private readonly tmp: string
  private readonly dirSync = new DirSync()
  /** The temp folder, made once; forgotten when a put finds it gone. */
  private tmpReady: Promise<unknown> | null = null

  constructor(private readonly root: string) {
    this.tmp = path.join(root, TMP_DIR)
  }

  async put(key: string, source: Readable, options: { maxBytes: number }): Promise<PutResult> {
    const target = this.pathOf(key)
    this.tmpReady ??= mkdir(this.tmp, { recursive: true })
    await this.tmpReady.catch((err) => {
      this.tmpReady = null
      throw err
    })
    const tmpPath = path.join(this.tmp, `${process.pid}.${randomUUID()}.part`)
    const meter = new Meter(options.maxBytes)
    // flush: the bytes reach the disk before the rename makes them visible.
    const file = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600, flush: true })
    try {
      await pipeline(source, meter, file)
      await this.moveIntoPlace(tmpPath, target)
      return { size: meter.count, sha256: meter.digest() }
    } catch (err) {
      if (isMissing(err)) this.tmpReady = null
      // A body refused at its first bytes can fail the pipeline while the file is still being opened (and
      // created): the file is removed once its stream has closed, or it would outlive the unlink.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()))
      await unlink(tmpPath).catch(() => {})
      throw meter.exceeded ? errors.tooLarge(options.maxBytes) : err
    }
  }

  /** Renames into place, making the target's folders when missing; durable once it returns. */
  private async moveIntoPlace(tmpPath: string, target: string): Promise<void> {
    const dir = path.dirname(target)
    try {
      await rename(tmpPath, target)
    } catch (err) {
      if (!isMissing(err)) throw err
      const created = await mkdir(dir, { recursive: true })
      await rename(tmpPath, target)
      // The new folder's own entry must reach the disk too.
      if (created !== undefined) await this.dirSync.sync(path.dirname(created))
    }
    await this.dirSync.sync(dir)
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    let handle: FileHandle
    try {
      handle = await open(this.pathOf(key), 'r')
    } catch (err) {
      if (isMissing(err)) throw errors.notFound('blob')
      throw err
    }
    // The stream owns the handle from here and closes it at its end or on destroy().
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {})
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.pathOf(key))
      return s.isFile() ? { size: s.size } : null
    } catch (err) {
      if (isMissing(err)) return null
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true })
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!PREFIX.test(prefix)) throw new AppError('internal', `Invalid blob prefix: ${JSON.stringify(prefix)}`)
    const slash = prefix.lastIndexOf('/')
    const dir = path.join(this.root, prefix.slice(0, slash + 1))
    const start = prefix.slice(slash + 1)
    if (start === '') {
      await rm(dir, { recursive: true, force: true })
      return
    }
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      if (isMissing(err)) return
      throw err
    }
    for (const name of names) {
      if (name.startsWith(start) && name !== TMP_DIR) {
        await rm(path.join(dir, name), { recursive: true, force: true })
      }
    }
  }

  async cleanup(): Promise<number> {
    let names: string[]
    try {
      names = await readdir(this.tmp)
    } catch (err) {
      if (isMissing(err)) return 0
      throw err
    }
    let removed = 0
    for (const name of names) {
      const file = path.join(this.tmp, name)
      if (await this.isLive(name, file)) continue
      await rm(file, { force: true, recursive: true })
      removed++
    }
    return removed
  }

  async *list(): AsyncIterable<BlobEntry> {
    yield* this.walk('')
  }

  /** The files under `root/dir`, depth first; the temp folder is not walked. */
  private async *walk(dir: string): AsyncIterable<BlobEntry> {
    let entries: Dirent[]
    try {
      entries = await readdir(path.join(this.root, dir), { withFileTypes: true })
    } catch (err) {
      // A folder removed while it is listed (a workspace's purge) holds nothing any more.
      if (isMissing(err)) return
      throw err
    }
    for (const entry of entries) {
      const key = dir === '' ? entry.name : `${dir}/${entry.name}`
      if (entry.isDirectory()) {
        if (key !== TMP_DIR) yield* this.walk(key)
      } else if (entry.isFile() && KEY.test(key)) {
        const s = await stat(path.join(this.root, key)).catch(() => null)
        if (s) yield { key, modifiedAt: s.mtimeMs }
      }
    }
  }

  /** A temp file whose writer is another process that still runs (and is not ancient) is left alone. */
  private async isLive(name: string, file: string): Promise<boolean> {
    const pid = Number(name.split('.', 1)[0])
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !processRuns(pid)) return false
    const s = await stat(file).catch(() => null)
    return s !== null && Date.now() - s.mtimeMs < STALE_TMP_MS
  }

  private pathOf(key: string): string {
    if (!KEY.test(key)) throw new AppError('internal', `Invalid blob key: ${JSON.stringify(key)}`)
    return path.join(this.root, key)
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'
