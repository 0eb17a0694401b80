import type { FastifyRequest } from 'fastify'
import type { CachedReads, ReadCache } from '../platform/db/read-cache.js'
import { errors } from '../shared/errors.js'
import type { App } from './app-types.js'
import type { Ctx, Principal } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    reads: CachedReads | undefined
  }
}

const PUBLIC_PATHS = new Set(['/api/openapi.json'])
const pathOf = (url: string) => {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/** What admission needs: the read cache, the token lookup and the rate limit. */
export interface AdmissionDeps {
  reads: ReadCache
  tokens: { authenticate(authorization: string | undefined, reads: CachedReads): Promise<Principal> }
  rateLimiter: RateLimiter
}

/**
 * Admits every request under /api/ but the public ones: one look at the read
 * cache's version (ReadCache.snapshot), the bearer token resolved through it
 * (401 otherwise), then the token's rate limit (429). The principal and the
 * snapshot stay on the request for the handler's own access checks.
 */
export function admitRequests(app: App, deps: AdmissionDeps): void {
  app.decorateRequest('principal', null)
  app.decorateRequest('reads', undefined)
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/') || req.method === 'OPTIONS' || PUBLIC_PATHS.has(pathOf(req.url))) return
    const reads = await deps.reads.snapshot()
    const principal = await deps.tokens.authenticate(req.headers.authorization, reads)
    deps.rateLimiter.take(principal.tokenId)
    req.reads = reads
    req.principal = principal
  })
}

/** The request scope of an authenticated route; the admission hook has run before any handler. */
export function ctxOf(request: FastifyRequest): Ctx {
  if (!request.principal) throw errors.unauthorized()
  return { principal: request.principal, requestId: request.id, reads: request.reads }
}

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
