import { randomBytes } from 'node:crypto'

export type IdPrefix = 'usr' | 'tok' | 'ws' | 'fil' | 'img' | 'mem' | 'job'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const SUFFIX = /^[0-7][0-9abcdefghjkmnpqrstvwxyz]{25}$/

let lastMs = 0n
let lastRand = 0n
const RAND_BITS = 74n
const RAND_MAX = (1n << RAND_BITS) - 1n

/**
 * A UUIDv7 (48-bit ms timestamp, version, variant, 74 random bits) as 26 base32
 * characters, TypeID style. Within one millisecond the random part is
 * incremented, so ids made later in this process always sort higher.
 */
function uuidv7Bits(now: number): bigint {
  let ms = BigInt(now)
  if (ms <= lastMs) {
    ms = lastMs
    lastRand += 1n + (BigInt(randomBytes(2).readUInt16BE(0)) & 0xffn)
    if (lastRand > RAND_MAX) {
      ms += 1n
      lastRand = randomRand() >> 8n
    }
  } else {
    lastRand = randomRand() >> 8n
  }
  lastMs = ms
  const randA = lastRand >> 62n
  const randB = lastRand & ((1n << 62n) - 1n)
  return (ms << 80n) | (0x7n << 76n) | (randA << 64n) | (0x2n << 62n) | randB
}

function randomRand(): bigint {
  return BigInt(`0x${randomBytes(10).toString('hex')}`) & RAND_MAX
}

function encode(bits: bigint): string {
  let out = ''
  for (let i = 25; i >= 0; i--) out += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)]
  return out
}

export function newId<P extends IdPrefix>(prefix: P, now: number = Date.now()): `${P}_${string}` {
  return `${prefix}_${encode(uuidv7Bits(now))}`
}

/** True when `value` has the shape of an id with this prefix; says nothing of existence. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return (
    value.length === prefix.length + 27 && value.startsWith(`${prefix}_`) && SUFFIX.test(value.slice(-26))
  )
}
