import { setTimeout as delay } from 'node:timers/promises'
import type { Logger } from '../../shared/logger.js'

/** An image as the Cloudflare Images API describes it; it never says width, height, size or format. */
export interface CfImage {
  id: string
  filename?: string
  meta?: Record<string, unknown>
  /** Older docs name the user metadata `metadata`; both are read. */
  metadata?: Record<string, unknown>
  creator?: string | null
  requireSignedURLs?: boolean
  uploaded?: string
  variants?: string[]
  draft?: true
}

interface Envelope<T> {
  success?: unknown
  errors?: { code?: number; message?: string }[]
  result?: T
}

/**
 * A reply that was not a success. `status` is 0 for a network failure or timeout.
 * `transient` failures (network, 429, 5xx, or a 2xx without `success: true`) may
 * succeed later; any other 4xx will not.
 */
export class CloudflareApiError extends Error {
  override name = 'CloudflareApiError'
  constructor(
    message: string,
    readonly status: number,
    readonly codes: number[],
    readonly transient: boolean,
  ) {
    super(message)
  }
}

export interface CloudflareClientOptions {
  accountId: string
  apiToken: string
  apiBase: string
  log?: Logger
  /** Tries per request for network errors and 5xx (and 429 waits); the last failure is thrown. */
  maxAttempts?: number
  /** First backoff step; doubles per attempt, with jitter. */
  baseDelayMs?: number
  /** A 429 asking to wait longer than this is not waited for in-process: the job's own backoff takes over. */
  maxRetryAfterMs?: number
  timeoutMs?: number
}

/**
 * The few Cloudflare Images calls Pictura makes, over global fetch. Every reply
 * is checked for both the HTTP status and `success === true`; transient
 * failures are retried here with bounded backoff, others are thrown at once.
 */
export class CloudflareClient {
  private readonly base: string
  private readonly maxAttempts: number
  private readonly baseDelayMs: number
  private readonly maxRetryAfterMs: number
  private readonly timeoutMs: number

  constructor(private readonly options: CloudflareClientOptions) {
    this.base = `${options.apiBase.replace(/\/+$/, '')}/accounts/${encodeURIComponent(options.accountId)}/images`
    this.maxAttempts = options.maxAttempts ?? 4
    this.baseDelayMs = options.baseDelayMs ?? 500
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
    this.timeoutMs = options.timeoutMs ?? 60_000
  }

  upload(form: FormData): Promise<CfImage> {
    return this.call<CfImage>('POST', '/v1', form)
  }

  get(id: string): Promise<CfImage> {
    return this.call<CfImage>('GET', `/v1/${encodeURIComponent(id)}`)
  }

  async delete(id: string): Promise<void> {
    await this.call<unknown>('DELETE', `/v1/${encodeURIComponent(id)}`)
  }

  listPage(perPage: number, continuationToken: string | null) {
    const query = new URLSearchParams({ per_page: String(perPage), sort_order: 'asc' })
    if (continuationToken) query.set('continuation_token', continuationToken)
    return this.call<{ images?: CfImage[]; continuation_token?: string | null }>('GET', `/v2?${query}`)
  }

  private async call<T>(method: string, path: string, body?: FormData): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { error, result, wait } = await this.once<T>(method, path, body)
      if (!error) return result as T
      const last = attempt >= this.maxAttempts || wait === null
      // Equal jitter on a doubling step, capped: spreads the retries of many workers hitting the same outage.
      const step = Math.min(this.baseDelayMs * 2 ** (attempt - 1), 10_000)
      const waitMs = wait === 'backoff' ? step / 2 + Math.random() * (step / 2) : wait
      this.options.log?.warn(
        { method, path, status: error.status, codes: error.codes, attempt, retrying: !last },
        `cloudflare images: ${error.message}`,
      )
      if (last) throw error
      await delay(waitMs ?? 0)
    }
  }

  /** One request; on failure says how long to wait before the next try, or null for "do not retry here". */
  private async once<T>(
    method: string,
    path: string,
    body: FormData | undefined,
  ): Promise<{ error?: CloudflareApiError; result?: T; wait: number | 'backoff' | null }> {
    let res: Response
    let text: string
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.options.apiToken}`, accept: 'application/json' },
        body: body ?? null,
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      text = await res.text()
    } catch (err) {
      const why =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : 'error'
      const error = new CloudflareApiError(`${method} ${path} failed: ${why}`, 0, [], true)
      return { error, wait: 'backoff' }
    }
    let envelope: Envelope<T> | null = null
    try {
      envelope = JSON.parse(text) as Envelope<T>
    } catch {
      envelope = null
    }
    if (res.ok && envelope?.success === true) return { result: envelope.result as T, wait: null }

    const errors = Array.isArray(envelope?.errors) ? envelope.errors : []
    const codes = errors.map((e) => e.code).filter((c): c is number => typeof c === 'number')
    const said = errors
      .map((e) => [e.code ? `code ${e.code}` : '', e.message ?? ''].filter(Boolean).join(': '))
      .filter(Boolean)
      .join('; ')
    const detail = said || (envelope ? 'no error message' : 'a reply that is not JSON')
    if (res.ok) {
      // A 2xx without success:true is neither done nor refused: not retried here, but the job may try again later.
      const message = `${method} ${path} answered HTTP ${res.status} without success: ${detail}`
      return { error: new CloudflareApiError(message, res.status, codes, true), wait: null }
    }
    const error = new CloudflareApiError(
      `${method} ${path} answered HTTP ${res.status}: ${detail}`,
      res.status,
      codes,
      res.status === 429 || res.status >= 500,
    )
    if (res.status === 429) {
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'))
      if (retryAfter === null) return { error, wait: 'backoff' }
      return { error, wait: retryAfter <= this.maxRetryAfterMs ? retryAfter : null }
    }
    return { error, wait: res.status >= 500 ? 'backoff' : null }
  }
}

/** Seconds or an HTTP date, as milliseconds; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
