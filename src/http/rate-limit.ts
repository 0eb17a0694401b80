import { errors } from '../shared/errors.js'

/**
 * A fixed one-minute window per token, in process memory: each API process
 * enforces the limit on what it serves (see README, Deployment).
 */
export class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>()

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws `rate_limited` with the seconds until the window opens again. */
  take(key: string): void {
    if (this.perMinute === 0) return
    const now = this.now()
    let w = this.windows.get(key)
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 100_000) this.sweep(now)
      w = { start: now, count: 0 }
      this.windows.set(key, w)
    }
    w.count += 1
    if (w.count > this.perMinute)
      throw errors.rateLimited(Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000)))
  }

  private sweep(now: number) {
    for (const [key, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(key)
  }
}
