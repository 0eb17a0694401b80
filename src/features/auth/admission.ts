import { hash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { App } from '../../http/app-types.js'
import type { CachedReads, Ctx, Principal } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import type { Clock } from '../../shared/clock.js'
import { errors } from '../../shared/errors.js'
import { TokensRepository } from './users.repository.js'

/**
 * Admission: what every request under /api/ passes before its handler runs.
 * One look at the read cache's version (ReadCache.snapshot), the bearer token
 * resolved through that snapshot (401 otherwise), then the token's rate limit
 * (429). The principal and the snapshot stay on the request (ctxOf) for the
 * handler's own access checks, which read through the same snapshot.
 */

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

export interface AdmissionDeps {
  db: Db
  clock: Clock
  reads: ReadCache
  rateLimiter: RateLimiter
}

/** Admits every request under /api/ but the public ones (see above). */
export function admitRequests(app: App, deps: AdmissionDeps): void {
  const authenticate = authenticator(deps)
  app.decorateRequest('principal', null)
  app.decorateRequest('reads', undefined)
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/') || req.method === 'OPTIONS' || PUBLIC_PATHS.has(pathOf(req.url))) return
    const reads = await deps.reads.snapshot()
    const principal = await authenticate(req.headers.authorization, reads)
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

/** Bearer secrets: `pic_` + 256 random bits; only their SHA-256 is ever stored. */
export function mintSecret(): string {
  return `pic_${randomBytes(32).toString('base64url')}`
}

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex')
}

/** Resolves a bearer header to a principal; every failure is the same 401. */
export type Authenticate = (authorization: string | undefined, reads?: CachedReads) => Promise<Principal>

/** Through `reads`, a token seen before is not looked up again while the database is unchanged. */
export function authenticator(deps: { db: Db; clock: Clock }): Authenticate {
  const tokens = new TokensRepository(deps.db)
  return async (authorization, reads) => {
    const match = authorization ? /^Bearer\s+(pic_[A-Za-z0-9_-]{16,200})\s*$/i.exec(authorization) : null
    if (!match) throw errors.unauthorized()
    const secretHash = hashSecret(match[1]!)
    const find = () => tokens.findByHash(secretHash)
    const row = await (reads ? reads.through(`token ${secretHash}`, find) : find())
    if (!row) throw errors.unauthorized()
    if (row.expiresAt !== null && Date.parse(row.expiresAt) <= deps.clock.now().getTime()) {
      throw errors.unauthorized('The token has expired')
    }
    return { userId: row.userId, role: row.role, tokenId: row.tokenId }
  }
}

/**
 * Reads kept in process memory for as long as what they read is unchanged:
 * the rows every request reads before its handler runs (its token, the
 * user's role in a workspace, the workspaces it sees). Triggers on the tables
 * they come from move one counter, `read_version`, in the writing transaction
 * (migrations 20261127-read-version and 20261204-read-version-sqlite), and
 * each request starts with one look at it (DatabaseHandle.version): a revoked
 * token or a removed member is refused by every request that starts after the
 * revocation committed, on any node, while uploads and provisioning leave the
 * cache as it is. Without a version (null) every read goes to the database.
 * Callers share one cache and keep their keys apart with a prefix.
 *
 * Requests that start in the same event-loop turn share one look: it is sent
 * once they have all started (see `current`), so it is never older than any
 * of them. Under load a turn starts several requests and one statement
 * (SQLite's `pragma data_version`, a round trip on PostgreSQL) serves them all:
 * single reads 40-50% faster on both (see bench/RESULTS.md).
 */
export class ReadCache {
  private readonly entries = new Map<string, unknown>()
  private seen: string | null = null
  private asking: Promise<string | null> | undefined

  constructor(
    private readonly version: () => Promise<string | null>,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The cache as of now: one version check, taken after the request started
   * (shared with the requests of its turn, see `current`) and used for all of
   * its lookups, so no entry older than the request's start is ever served to it.
   */
  async snapshot(): Promise<CachedReads> {
    const at = await this.current()
    if (at !== this.seen) {
      this.entries.clear()
      this.seen = at
    }
    return { through: (key, load) => this.through(at, key, load) }
  }

  /**
   * The version as of a moment after every request that asked for it so far
   * in this turn: the look is sent from the next check phase (setImmediate),
   * after the turn's I/O callbacks, and a request that asks once it has been
   * sent waits for a look of its own.
   */
  private current(): Promise<string | null> {
    this.asking ??= new Promise((resolve, reject) =>
      setImmediate(() => {
        this.asking = undefined
        this.version().then(resolve, reject)
      }),
    )
    return this.asking
  }

  private async through<V>(at: string | null, key: string, load: () => Promise<V | undefined>) {
    if (at === null) return load()
    // Entries belong to `seen`; once a later snapshot moved it on, this one reads the database.
    if (this.seen === at) {
      const hit = this.entries.get(key) as V | undefined
      if (hit !== undefined) return hit
    }
    const value = await load()
    // Loaded after the snapshot, the value is at least as new as the version it is filed under; once a
    // newer snapshot moved `seen` on, it is not kept. Absent rows are not kept either: unknown tokens sent
    // at random must not evict the known ones.
    if (value !== undefined && this.seen === at) {
      if (this.entries.size >= this.maxEntries) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }
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
