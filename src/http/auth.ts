import type { FastifyRequest } from 'fastify'
import { errors } from '../shared/errors.js'
import type { CachedReads } from '../platform/db/read-cache.js'
import type { Ctx, Principal } from './context.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    reads: CachedReads | undefined
  }
}

/** The request scope of an authenticated route; the auth hook has run before any handler. */
export function ctxOf(request: FastifyRequest): Ctx {
  if (!request.principal) throw errors.unauthorized()
  return { principal: request.principal, requestId: request.id, reads: request.reads }
}
