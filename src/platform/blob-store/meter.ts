import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { errors } from '../../shared/errors.js'

/** Counts and hashes the bytes going through, failing with `payload_too_large` as soon as they pass the cap. */
export class Meter extends Transform {
  // Not `size`: lib-storage takes a body's `size` for its length, as a Blob's.
  count = 0
  exceeded = false
  private readonly hash = createHash('sha256')

  constructor(private readonly maxBytes: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length
    if (this.count > this.maxBytes) {
      this.exceeded = true
      done(errors.tooLarge(this.maxBytes))
      return
    }
    this.hash.update(chunk)
    done(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}
