import type { Ctx, Principal } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { mapPage, type PageRequest } from '../../platform/db/keyset.js'
import type { CachedReads } from '../../platform/db/read-cache.js'
import type { Clock } from '../../shared/clock.js'
import { errors } from '../../shared/errors.js'
import { isId, newId } from '../../shared/ids.js'
import { hashSecret, mintSecret } from './tokens.js'
import { type TokenRow, TokensRepository, UsersRepository } from './users.repository.js'

const toToken = (r: TokenRow) => ({
  id: r.id,
  name: r.name,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

type TokenPrincipalRow = NonNullable<Awaited<ReturnType<TokensRepository['findByHash']>>>

/** The stored hash of a bearer header's secret and its read-cache key; a malformed header is a 401. */
function tokenKey(authorization: string | undefined): { hash: string; cacheKey: string } {
  const match = authorization ? /^Bearer\s+(pic_[A-Za-z0-9_-]{16,200})\s*$/i.exec(authorization) : null
  if (!match) throw errors.unauthorized()
  const hash = hashSecret(match[1]!)
  return { hash, cacheKey: `token ${hash}` }
}

export class TokensService {
  private readonly tokens: TokensRepository
  private readonly users: UsersRepository

  constructor(
    private readonly deps: {
      db: Db
      clock: Clock
    },
  ) {
    this.tokens = new TokensRepository(deps.db)
    this.users = new UsersRepository(deps.db)
  }

  /**
   * Resolves a bearer header to a principal; every failure is the same 401.
   * Through `reads`, a token seen before is not looked up again while the database is unchanged.
   */
  async authenticate(authorization: string | undefined, reads?: CachedReads): Promise<Principal> {
    const key = tokenKey(authorization)
    const find = () => this.tokens.findByHash(key.hash)
    return this.principalOf(await (reads ? reads.through(key.cacheKey, find) : find()))
  }

  private principalOf(row: TokenPrincipalRow | undefined): Principal {
    if (!row) throw errors.unauthorized()
    if (row.expiresAt !== null && Date.parse(row.expiresAt) <= this.deps.clock.now().getTime()) {
      throw errors.unauthorized('The token has expired')
    }
    return { userId: row.userId, role: row.role, tokenId: row.tokenId }
  }

  /** Mints a token for `userId`; the secret is returned once and stored only hashed. */
  async mint(userId: string, name: string, expiresAt: string | null = null, secret: string = mintSecret()) {
    const row = {
      id: newId('tok'),
      user_id: userId,
      name,
      hash: hashSecret(secret),
      created_at: this.deps.clock.now().toISOString(),
      expires_at: expiresAt,
    }
    await this.tokens.insert(row)
    return { ...toToken(row), token: secret }
  }

  async create(ctx: Ctx, input: { name: string; userId?: string; expiresAt?: string }) {
    const userId = input.userId ?? ctx.principal.userId
    if (userId !== ctx.principal.userId) {
      if (ctx.principal.role !== 'admin')
        throw errors.forbidden('Only an admin may mint tokens for another user')
      const user = isId('usr', userId) ? await this.users.findById(userId) : undefined
      if (!user) throw errors.notFound('user')
    }
    let expiresAt: string | null = null
    if (input.expiresAt !== undefined) {
      const at = Date.parse(input.expiresAt)
      if (Number.isNaN(at) || at <= this.deps.clock.now().getTime()) {
        throw errors.invalid('expiresAt must be a date-time in the future', 'expiresAt')
      }
      expiresAt = new Date(at).toISOString()
    }
    return this.mint(userId, input.name, expiresAt)
  }

  async list(ctx: Ctx, req: PageRequest) {
    const userId = ctx.principal.userId
    return mapPage(await this.tokens.page(userId, req), toToken)
  }

  /** Owners revoke their own tokens, admins any; someone else's token is simply not found. */
  async revoke(ctx: Ctx, id: string) {
    const row = isId('tok', id) ? await this.tokens.findById(id) : undefined
    if (!row || (row.user_id !== ctx.principal.userId && ctx.principal.role !== 'admin')) {
      throw errors.notFound('token')
    }
    await this.tokens.delete(id)
    return { success: true }
  }
}
