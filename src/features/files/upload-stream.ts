import type { IncomingMessage } from 'node:http'
import { finished, type Readable, Transform, type TransformCallback } from 'node:stream'
import { errors } from '../../shared/errors.js'

/** Passes bytes through untouched and keeps a copy of the first `limit` of them, for sniffing. */
export class HeadSampler extends Transform {
  private readonly chunks: Buffer[] = []
  private taken = 0

  constructor(private readonly limit: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.taken < this.limit) {
      // A copy, so the sample never pins a large network buffer.
      const part = Buffer.from(chunk.subarray(0, this.limit - this.taken))
      this.chunks.push(part)
      this.taken += part.length
    }
    done(null, chunk)
  }

  head(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

/**
 * Feeds a request body into `sink` without tying their fates the way
 * `pipeline` does: when the sink fails (the upload is over the limit) the
 * body is only unpiped, never destroyed, so the socket stays up for the 413
 * answer; when the body fails or ends early (the client went away), the sink
 * fails with a client error instead of waiting forever.
 */
export function feed(body: Readable, sink: Transform): void {
  finished(body, { writable: false }, (err) => {
    if (err) sink.destroy(errors.invalid('The request body ended before it was complete'))
  })
  body.pipe(sink)
}

/**
 * After an answer sent before the body was read (a 413, a 404), the rest of
 * the body is read and dropped for a while before the connection is cut:
 * closing a socket with unread input sends a TCP reset, which can destroy the
 * answer before the client has read it (a "lingering close", as nginx does).
 * A body that ends in time leaves the connection open for the next request.
 */
export function lingerThenClose(request: IncomingMessage, ms: number): void {
  const timer = setTimeout(() => request.socket.destroy(), ms)
  const done = () => clearTimeout(timer)
  request.once('end', done)
  request.once('close', done)
  // Detach whatever still reads it (the multipart parser), then discard.
  request.unpipe()
  request.resume()
}
