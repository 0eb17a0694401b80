import { setTimeout as sleep } from 'node:timers/promises'
import type { DbConfig } from '../../config.js'
import { AppError } from '../../shared/errors.js'
import type { Logger } from '../../shared/logger.js'
import { type OpenOptions, openDatabase } from './database.js'

const FIRST_RETRY_MS = 500
const MAX_RETRY_MS = 5_000

/**
 * Waits until the database answers, up to `maxWaitMs`: a server started
 * before its database (a host booting, a database restarting) serves once it
 * comes instead of exiting. Says so once, and once more when it answers.
 * Anything but unavailability (a wrong password, a missing database) fails at
 * once, as does a database still silent after `maxWaitMs`.
 */
export async function waitForDatabase(
  config: DbConfig,
  options: OpenOptions & { maxWaitMs: number; log: Logger },
): Promise<void> {
  const { maxWaitMs, log } = options
  const handle = openDatabase(config, { ...options, poolSize: 1 })
  const started = Date.now()
  let delay = FIRST_RETRY_MS
  let said = false
  try {
    for (;;) {
      try {
        await handle.ping()
        if (said) log.info({ waitedMs: Date.now() - started }, 'the database answers: starting')
        return
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'unavailable')) throw err
        const waited = Date.now() - started
        if (waited + delay > maxWaitMs)
          throw new Error(
            `the database did not answer within ${Math.round(maxWaitMs / 1000)} s (DB_STARTUP_WAIT_MS): ${describe(err)}`,
          )
        if (!said) {
          said = true
          log.warn(
            { err: err.cause ?? err },
            `the database does not answer; waiting for it up to ${Math.round(maxWaitMs / 1000)} s (DB_STARTUP_WAIT_MS)`,
          )
        }
        await sleep(delay)
        delay = Math.min(MAX_RETRY_MS, delay * 2)
      }
    }
  } finally {
    await handle.destroy().catch(() => {})
  }
}

function describe(err: AppError): string {
  const cause = err.cause instanceof Error ? err.cause.message : ''
  return cause || err.message
}
