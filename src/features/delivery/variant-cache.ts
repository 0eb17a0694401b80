import { randomBytes } from 'node:crypto'
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from '../../shared/logger.js'

/** The capability ids the local provider issues; anything else never becomes a path. */
export const CF_IMAGE_ID = /^[0-9a-f]{32}$/
const KEY = /^[0-9a-f]{32}$/
const TMP_SUFFIX = '.tmp'

interface Entry {
  cfImageId: string
  key: string
  size: number
}

/**
 * Rendered variants on disk (DATA_DIR/cache/<cfImageId>/<key>), bounded by
 * total bytes with least-recently-used eviction. Writes go to a temp name and
 * are renamed into place, so a reader never sees half a file. One folder per
 * image makes dropping an image's variants one removal, from any process; the
 * in-memory index learns of it on its next miss. An image's folder also marks
 * that the local provider holds it (created at upload, removed at delete).
 */
export class VariantCache {
  private readonly entries = new Map<string, Entry>()
  private total = 0
  private ready: Promise<void> | null = null

  constructor(
    readonly root: string,
    readonly maxBytes: number,
    private readonly log?: Logger,
  ) {}

  get bytes(): number {
    return this.total
  }

  /** An open handle on a cached variant (it stays readable even if evicted meanwhile), or null. */
  async open(cfImageId: string, key: string): Promise<{ handle: FileHandle; size: number } | null> {
    await this.init()
    const id = `${cfImageId}/${key}`
    const entry = this.entries.get(id)
    if (!entry) return null
    try {
      const handle = await open(this.pathOf(cfImageId, key), 'r')
      // Most recently used goes last.
      this.entries.delete(id)
      this.entries.set(id, entry)
      return { handle, size: entry.size }
    } catch {
      this.forget(id)
      return null
    }
  }

  /** Stores a rendered variant; one larger than the whole cache is simply not kept. */
  async put(cfImageId: string, key: string, bytes: Buffer): Promise<void> {
    await this.init()
    if (bytes.length > this.maxBytes || !CF_IMAGE_ID.test(cfImageId) || !KEY.test(key)) return
    const dir = path.join(this.root, cfImageId)
    const tmp = path.join(dir, `${key}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`)
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(tmp, bytes, { flag: 'wx' })
      await rename(tmp, this.pathOf(cfImageId, key))
    } catch (err) {
      await unlink(tmp).catch(() => {})
      this.log?.warn({ err, cfImageId }, 'could not cache a variant')
      return
    }
    const id = `${cfImageId}/${key}`
    this.forget(id)
    this.entries.set(id, { cfImageId, key, size: bytes.length })
    this.total += bytes.length
    await this.evict()
  }

  /** Marks an image as held (its folder), so delete has something to remove. */
  async hold(cfImageId: string): Promise<void> {
    if (CF_IMAGE_ID.test(cfImageId)) await mkdir(path.join(this.root, cfImageId), { recursive: true })
  }

  /** Drops every variant of an image and its folder; unknown images are already gone. */
  async drop(cfImageId: string): Promise<void> {
    if (!CF_IMAGE_ID.test(cfImageId)) return
    for (const [id, entry] of this.entries) if (entry.cfImageId === cfImageId) this.forget(id)
    await rm(path.join(this.root, cfImageId), { recursive: true, force: true })
  }

  /** Rebuilds the index from disk once (oldest first) and clears temp files of interrupted writes. */
  init(): Promise<void> {
    this.ready ??= this.scan()
    return this.ready
  }

  private async scan(): Promise<void> {
    await mkdir(this.root, { recursive: true })
    const found: (Entry & { mtime: number })[] = []
    for (const dir of await readdir(this.root)) {
      if (!CF_IMAGE_ID.test(dir)) continue
      const names = await readdir(path.join(this.root, dir)).catch(() => [] as string[])
      for (const name of names) {
        const file = path.join(this.root, dir, name)
        if (!KEY.test(name)) {
          if (name.endsWith(TMP_SUFFIX)) await unlink(file).catch(() => {})
          continue
        }
        const s = await stat(file).catch(() => null)
        if (s?.isFile()) found.push({ cfImageId: dir, key: name, size: s.size, mtime: s.mtimeMs })
      }
    }
    found.sort((a, b) => a.mtime - b.mtime)
    for (const { mtime: _, ...entry } of found) {
      this.entries.set(`${entry.cfImageId}/${entry.key}`, entry)
      this.total += entry.size
    }
    await this.evict()
  }

  private async evict(): Promise<void> {
    for (const [id, entry] of this.entries) {
      if (this.total <= this.maxBytes) break
      this.forget(id)
      await unlink(this.pathOf(entry.cfImageId, entry.key)).catch(() => {})
    }
  }

  private forget(id: string): void {
    const entry = this.entries.get(id)
    if (!entry) return
    this.entries.delete(id)
    this.total -= entry.size
  }

  private pathOf(cfImageId: string, key: string): string {
    return path.join(this.root, cfImageId, key)
  }
}
