import type { components } from './schema.js'

/** The codes of the API's error envelope (API.md section 1). */
export type ApiErrorCode = components['schemas']['ErrorBody']['error']['code']

/**
 * Codes of failures that have no API answer: `network_error` (no answer at
 * all), `unexpected_response` (an answer not in the API's envelope, such as a
 * proxy's HTML page), `aborted`, `timeout`, and the outcomes of waitForImage:
 * `provisioning_failed`, `not_an_image`, `image_deleted`.
 */
export type ClientErrorCode =
  | 'network_error'
  | 'unexpected_response'
  | 'aborted'
  | 'timeout'
  | 'provisioning_failed'
  | 'not_an_image'
  | 'image_deleted'

export type PicturaErrorCode = ApiErrorCode | ClientErrorCode

/**
 * Every failure the client reports: the API's envelope (`status`, `code`,
 * `message`, `details`) or, with `status` 0, a failure without an answer.
 */
export class PicturaError extends Error {
  override readonly name = 'PicturaError'

  constructor(
    /** The HTTP status; 0 when no answer came (network, abort, timeout, waitForImage). */
    readonly status: number,
    readonly code: PicturaErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; requestId?: string | null; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.requestId = options?.requestId ?? undefined
    this.retryAfterMs = options?.retryAfterMs
  }

  /** The server's `X-Request-Id` of the answer, to quote when reporting a problem. */
  readonly requestId: string | undefined
  /** The answer's `Retry-After` (429, 503), in ms. */
  readonly retryAfterMs: number | undefined

  /** Whether trying the same call again later may succeed: no answer, or 429 / 503. */
  get transient(): boolean {
    return this.code === 'network_error' || this.status === 429 || this.status === 503
  }

  /** Reads an error answer's envelope; a body that is not one becomes `unexpected_response`. */
  static async fromResponse(response: Response): Promise<PicturaError> {
    const requestId = response.headers.get('x-request-id')
    const retryAfter = retryAfterMs(response.headers.get('retry-after'))
    const text = await response.text().catch(() => '')
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } }
      const e = body.error
      if (e && typeof e.code === 'string' && typeof e.message === 'string') {
        const details =
          e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : undefined
        return new PicturaError(response.status, e.code as ApiErrorCode, e.message, details, {
          requestId,
          retryAfterMs: retryAfter,
        })
      }
    } catch {}
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text
    return new PicturaError(
      response.status,
      'unexpected_response',
      `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
      undefined,
      { requestId, retryAfterMs: retryAfter },
    )
  }
}

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}
