import { type AppError, errors } from './errors.js'

/** No room left: the file system (or the user's quota on it), SQLite's file on it, PostgreSQL's `disk_full`. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL', '53100'])
/** The storage itself fails (a read-only remount after an I/O error, a dying disk). */
const FAILING = /^(EIO|EROFS|SQLITE_IOERR.*|SQLITE_READONLY.*)$/

/**
 * A failure of local storage as the API answers it, never a 500: a full disk
 * (`ENOSPC`, an exceeded quota, SQLite's "database or disk is full") is
 * `insufficient_storage` (507); a failing one `unavailable` (503). The
 * original error stays as the cause, for the log. Null for anything else.
 * Looks through `cause` chains, as wrapped errors carry the system's code there.
 */
export function storageFailure(err: unknown): AppError | null {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (FULL.has(code)) return errors.insufficientStorage('The server is out of storage space', err)
    if (FAILING.test(code)) return errors.unavailable('The server storage is failing; try again later', err)
  }
  return null
}
