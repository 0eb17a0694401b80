import { PicturaError, retryAfterMs } from './errors.js'

/** How idempotent calls are retried; `false` turns retries off. */
export interface RetryOptions {
  /** Retries after the first attempt (default 4). */
  retries?: number
  /** First backoff (default 250 ms); it doubles each time, with jitter, up to `maxDelayMs`. */
  minDelayMs?: number
  /** Longest backoff (default 8 s). */
  maxDelayMs?: number
  /** Longest `Retry-After` honoured (default 60 s); a longer one is not waited for and fails the call. */
  maxRetryAfterMs?: number
}

export type Fetch = (request: Request) => Promise<Response>

/** Methods that may run twice without harm (RFC 9110 9.2.2): only these are retried. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])
/** Answers that say "not now": rate limited, or a dependency down (with Retry-After). */
const RETRYABLE = new Set([429, 503])

/**
 * Sends a request: retries idempotent calls after network failures and 429 or
 * 503 answers, with exponential backoff and jitter, waiting at least
 * `Retry-After`; answers of 400 and more are thrown as PicturaError. Anything
 * else (2xx, 3xx such as a 304) is returned.
 */
export function transport(fetchFn: Fetch, options: RetryOptions | false = {}): Fetch {
  const retries = options === false ? 0 : (options.retries ?? 4)
  const minDelay = options === false ? 0 : (options.minDelayMs ?? 250)
  const maxDelay = options === false ? 0 : (options.maxDelayMs ?? 8_000)
  const maxRetryAfter = options === false ? 0 : (options.maxRetryAfterMs ?? 60_000)

  return async (request) => {
    const attempts = IDEMPOTENT.has(request.method) ? retries + 1 : 1
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts
      // A retried request needs its body again: keep a copy (idempotent calls carry small JSON bodies or none).
      const sent = last ? request : request.clone()
      let response: Response
      try {
        response = await fetchFn(sent)
      } catch (err) {
        if (request.signal.aborted) throw aborted(request, err)
        if (last)
          throw new PicturaError(0, 'network_error', networkMessage(request, err), undefined, { cause: err })
        await sleep(backoff(attempt, minDelay, maxDelay), request.signal)
        continue
      }
      if (response.status < 400) return response
      if (!last && RETRYABLE.has(response.status)) {
        const after = retryAfterMs(response.headers.get('retry-after'))
        if (after === undefined || after <= maxRetryAfter) {
          await response.body?.cancel().catch(() => {})
          await sleep(Math.max(after ?? 0, backoff(attempt, minDelay, maxDelay)), request.signal)
          continue
        }
      }
      throw await PicturaError.fromResponse(response)
    }
  }
}

/** Full jitter over an exponential ceiling: 250, 500, 1000 … ms at most, never less than half of it. */
function backoff(attempt: number, min: number, max: number): number {
  const ceiling = Math.min(max, min * 2 ** (attempt - 1))
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(new PicturaError(0, 'aborted', 'The call was aborted'))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}

function aborted(request: Request, cause: unknown): PicturaError {
  return new PicturaError(
    0,
    'aborted',
    `${request.method} ${new URL(request.url).pathname} was aborted`,
    undefined,
    {
      cause,
    },
  )
}

function networkMessage(request: Request, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))
  return `${request.method} ${new URL(request.url).origin} failed: ${why}`
}
