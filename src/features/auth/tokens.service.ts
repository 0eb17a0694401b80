import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { mapPage, type PageRequest } from '../../platform/db/statements.js'
import type { Clock } from '../../shared/clock.js'
import { errors } from '../../shared/errors.js'
import { isId, newId } from '../../shared/ids.js'
import { hashSecret, mintSecret } from './admission.js'
import { type TokenRow, TokensRepository, UsersRepository } from './users.repository.js'

const toToken = (r: TokenRow) => ({
  id: r.id,
  name: r.name,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

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
