import { setTimeout as sleep } from 'node:timers/promises'

export interface UntilOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number
  /** Ask again after this long (default 10 ms). */
  intervalMs?: number
  /** What the timeout error says was awaited; a function is asked at the timeout, for the state then. */
  what?: string | (() => string)
}

/**
 * Asks `probe` until it answers something truthy, and returns that answer.
 * For conditions that a worker, another process or a timer makes true, where
 * the test has no event to wait on.
 */
export async function until<T>(
  probe: () => Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 10, what = 'the condition' }: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await probe()
    if (answer) return answer
    if (Date.now() > deadline)
      throw new Error(
        typeof what === 'function' ? what() : `timed out after ${timeoutMs} ms waiting for ${what}`,
      )
    await sleep(intervalMs)
  }
}
