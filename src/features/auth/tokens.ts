import { createHash, randomBytes } from 'node:crypto'

/** Bearer secrets: `pic_` + 256 random bits; only their SHA-256 is ever stored. */
export function mintSecret(): string {
  return `pic_${randomBytes(32).toString('base64url')}`
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
