import { createClient, type PicturaClient } from '../../client/index.js'
import type { Connection } from './credentials.js'
import type { Output } from './progress.js'

/** Where a command prints: stdout for results and progress, stderr for errors. */
export interface Io {
  stdout: Output
  stderr: Output
}

export function clientFor(connection: Connection): PicturaClient {
  return createClient({
    baseUrl: connection.url,
    token: connection.token,
    headers: { 'user-agent': 'pictura-cli' },
  })
}

/**
 * The first Ctrl-C (SIGINT) or SIGTERM aborts the signal, so the command stops
 * starting work, cancels what is in flight and prints what it did; a second
 * one exits at once.
 */
export function onInterrupt() {
  const controller = new AbortController()
  const handler = () => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}

/** Runs `work` on every item, `concurrency` at a time, in order; stops starting new items once aborted. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !signal.aborted) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}
