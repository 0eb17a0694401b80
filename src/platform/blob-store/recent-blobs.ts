import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import type { BlobEntry, BlobStore, PutResult } from './blob-store.js'

/** Blobs up to this size are kept after their put. */
const MAX_BLOB_BYTES = 256 * 1024
/** All kept blobs together; the oldest go first. */
const MAX_TOTAL_BYTES = 8 * 1024 * 1024

/**
 * Keeps the bytes of the latest small puts in memory, in front of any store.
 * An image upload is read back at once by its provisioning job: from here it
 * costs no trip to the disk (four hand-offs to libuv's threads) or to the
 * object store. The store stays the truth: every put goes through to it
 * first, and keys are never reused, so a kept blob is the stored one until it
 * is deleted, which forgets it here too. A delete by another process is not
 * seen here, but it follows its file's row, and every read of bytes starts
 * from that row.
 */
export class RecentBlobs implements BlobStore {
  private readonly kept = new Map<string, Buffer>()
  private total = 0

  constructor(
    private readonly store: BlobStore,
    private readonly limits = { blob: MAX_BLOB_BYTES, total: MAX_TOTAL_BYTES },
  ) {}

  async put(key: string, source: Readable, options: { maxBytes: number }): Promise<PutResult> {
    // A put replaces the blob whole, here as in the store, kept or not.
    this.forget(key)
    const copy = new Copy(Math.min(this.limits.blob, options.maxBytes))
    // An error on either side ends both, as the store's own pipeline does; the store reports it.
    const result = await this.store.put(
      key,
      pipeline(source, copy, () => {}),
      options,
    )
    const bytes = copy.bytes()
    if (bytes) this.keep(key, bytes)
    return result
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const bytes = this.kept.get(key)
    if (!bytes) return this.store.get(key, range)
    return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes])
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const bytes = this.kept.get(key)
    return bytes ? { size: bytes.length } : this.store.stat(key)
  }

  async delete(key: string): Promise<void> {
    this.forget(key)
    await this.store.delete(key)
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of this.kept.keys()) if (key.startsWith(prefix)) this.forget(key)
    await this.store.deletePrefix(prefix)
  }

  cleanup(): Promise<number> {
    return this.store.cleanup()
  }

  list(): AsyncIterable<BlobEntry> {
    return this.store.list()
  }

  private keep(key: string, bytes: Buffer): void {
    this.kept.set(key, bytes)
    this.total += bytes.length
    for (const [oldest, old] of this.kept) {
      if (this.total <= this.limits.total) break
      this.kept.delete(oldest)
      this.total -= old.length
    }
  }

  private forget(key: string): void {
    const bytes = this.kept.get(key)
    if (!bytes) return
    this.kept.delete(key)
    this.total -= bytes.length
  }
}

/** Passes the bytes through, keeping a copy while they fit in `max`. */
class Copy extends Transform {
  private chunks: Buffer[] | null = []
  private size = 0

  constructor(private readonly max: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.chunks) {
      this.size += chunk.length
      if (this.size <= this.max) this.chunks.push(chunk)
      else this.chunks = null
    }
    done(null, chunk)
  }

  /** The whole copy, or null when the bytes did not fit. */
  bytes(): Buffer | null {
    return this.chunks && Buffer.concat(this.chunks, this.size)
  }
}
