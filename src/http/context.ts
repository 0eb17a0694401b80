import type { UserRole } from '../platform/db/tables.js'

/** Who is calling: resolved once per request from the bearer token. */
export interface Principal {
  readonly userId: string
  readonly role: UserRole
  readonly tokenId: string
}

/** Request scope, passed explicitly as the first argument of every service call. */
export interface Ctx {
  readonly principal: Principal
  readonly requestId: string
  /** The read cache as of the request's start (its token was read through it); absent: read the database. */
  readonly reads?: CachedReads
}

/** Lookups through a read cache snapshot (ReadCache): the cached value of `key`, or `load()`'s. */
export interface CachedReads {
  through<V>(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>
}
