import { hash, randomBytes } from 'node:crypto'

/** Bearer secrets: `pic_` + 256 random bits; only their SHA-256 is ever stored. */
export function mintSecret(): string {
  return `pic_${randomBytes(32).toString('base64url')}`
}

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex')
}
