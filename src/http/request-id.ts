import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** What a caller's X-Request-Id may be to be echoed back and logged as it is. */
const SAFE = /^[\w.:-]{1,128}$/

/**
 * Request ids: the caller's X-Request-Id when it is safe to echo, else this
 * process's random prefix (80 bits, fixed at start) and a counter, unique
 * across processes and restarts. A counter costs nothing; a UUID per request
 * cost as much as the cached auth check.
 */
export function requestIds(): (req: IncomingMessage) => string {
  const prefix = randomBytes(10).toString('hex')
  let next = 0
  return (req) => {
    const given = req.headers['x-request-id']
    return typeof given === 'string' && SAFE.test(given) ? given : `${prefix}-${(next++).toString(36)}`
  }
}
