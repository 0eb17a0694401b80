/** SQLite and PostgreSQL report a unique violation differently; this is the one place that knows both. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const code = (err as { code?: unknown }).code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** Socket errors that mean the server is not there (or not answering), whatever the driver. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * PostgreSQL SQLSTATEs of a server going away or refusing for now: class 08
 * (connection exception), 57P01-57P05 (shut down, crashed, starting, idle or
 * idle-session timeout), 57014 (statement timeout), 55P03 (lock timeout),
 * 53300 (too many connections), 25P03 (idle-in-transaction timeout).
 */
const PG_UNAVAILABLE = /^(08...|57P0[1-5]|57014|55P03|53300|25P03)$/

/**
 * What node-postgres throws of its own, with no code: a connection that ended
 * or could not be made in time, a query that got no answer in time (a hung
 * server), a client that is no longer usable after one of these.
 */
const PG_CLIENT_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|terminating connection)/

/**
 * Whether `err` (or what caused it) says the database is unreachable, hung,
 * restarting, too slow, or on SQLite held by another writer for longer than
 * the busy timeout: a failure to answer `503 unavailable` and try again
 * later, never a bug. The one place that knows both drivers' ways of saying so.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false
  const { code, message, cause, errors } = err as {
    code?: unknown
    message?: unknown
    cause?: unknown
    errors?: unknown
  }
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code)) return true
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true
  }
  if (typeof message === 'string' && PG_CLIENT_MESSAGES.test(message)) return true
  // Connecting to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError.
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) return true
  return isDatabaseUnavailable(cause, depth + 1)
}
