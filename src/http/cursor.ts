import { createHmac, timingSafeEqual } from 'node:crypto'
import { errors } from '../shared/errors.js'

/**
 * Opaque cursors: the list they belong to and the row key, signed with a secret
 * kept in the database, so any node of a deployment accepts what another issued
 * and rejects what none did (tampered, truncated, or from another list).
 */
export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(list: string, key: string): string {
    const body = Buffer.from(`${list}\n${key}`).toString('base64url')
    return `${body}.${this.sign(body)}`
  }

  decode(list: string, cursor: string): string {
    const dot = cursor.indexOf('.')
    if (dot <= 0 || cursor.length > 512) throw errors.invalidCursor()
    const body = cursor.slice(0, dot)
    // Compared as text: base64url decoding ignores trailing bits, so a changed last character could decode alike.
    const given = Buffer.from(cursor.slice(dot + 1))
    const expected = Buffer.from(this.sign(body))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw errors.invalidCursor()
    const [cursorList, key] = Buffer.from(body, 'base64url').toString().split('\n')
    if (cursorList !== list || !key) throw errors.invalidCursor()
    return key
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16).toString('base64url')
  }
}
