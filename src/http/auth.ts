import type { FastifyRequest } from 'fastify'
import { errors } from '../shared/errors.js'
import type { Maybe } from '../shared/maybe.js'
import type { CachedReads } from '../platform/db/read-cache.js'
import type { Ctx, Principal } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    reads: CachedReads | undefined
    /** Set when the request was admitted on a tentative snapshot: admits it again on one asked of the database. */
    reverify: (() => Promise<void>) | undefined
  }
  interface FastifyContextConfig {
    /**
     * The route only reads, and what it answers is confirmed by a read that
     * carries the read cache's version: it may start on the last snapshot
     * (ReadCache.lastSnapshot) without asking the database for the version.
     */
    confirmsReads?: boolean
  }
}

/** The request scope of an authenticated route; the auth hook has run before any handler. */
export function ctxOf(request: FastifyRequest): Ctx {
  if (!request.principal) throw errors.unauthorized()
  return { principal: request.principal, requestId: request.id, reads: request.reads }
}

/**
 * Runs a confirmsReads route's read for the request. One admitted on a
 * tentative snapshot answers only what its reads confirmed: anything else
 * (Unconfirmed, or any error, which may stem from a stale role) runs the read
 * once more after the request is admitted again on a snapshot asked of the
 * database, exactly as if it had started that way.
 */
export function confirmedRead<T>(request: FastifyRequest, read: (ctx: Ctx) => Maybe<T>): Maybe<T> {
  const reverify = request.reverify
  if (!reverify) return read(ctxOf(request))
  const again = async () => {
    request.reverify = undefined
    await reverify()
    return read(ctxOf(request))
  }
  try {
    const value = read(ctxOf(request))
    return value instanceof Promise ? value.catch(again) : value
  } catch {
    return again()
  }
}
