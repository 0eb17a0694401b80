import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { isUniqueViolation } from '../../platform/db/errors.js'
import { mapPage, type PageRequest } from '../../platform/db/statements.js'
import type { UserRole } from '../../platform/db/tables.js'
import type { Clock } from '../../shared/clock.js'
import { errors } from '../../shared/errors.js'
import { isId, newId } from '../../shared/ids.js'
import { type UserRow, UsersRepository } from './users.repository.js'

export const toUser = (r: UserRow) => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  createdAt: r.created_at,
})

export function requireAdmin(ctx: Ctx): void {
  if (ctx.principal.role !== 'admin') throw errors.forbidden('Only an admin may do this')
}

export class UsersService {
  private readonly users: UsersRepository

  constructor(private readonly deps: { db: Db; clock: Clock }) {
    this.users = new UsersRepository(deps.db)
  }

  async me(ctx: Ctx) {
    const row = await this.users.findById(ctx.principal.userId)
    if (!row) throw errors.unauthorized()
    return toUser(row)
  }

  async create(ctx: Ctx, input: { email: string; name?: string; role?: UserRole }) {
    requireAdmin(ctx)
    const row: UserRow = {
      id: newId('usr'),
      email: input.email.toLowerCase(),
      name: input.name ?? null,
      role: input.role ?? 'member',
      created_at: this.deps.clock.now().toISOString(),
    }
    try {
      await this.users.insert(row)
    } catch (err) {
      if (isUniqueViolation(err)) throw errors.conflict('A user with this email already exists')
      throw err
    }
    return toUser(row)
  }

  async get(ctx: Ctx, id: string) {
    requireAdmin(ctx)
    const row = isId('usr', id) ? await this.users.findById(id) : undefined
    if (!row) throw errors.notFound('user')
    return toUser(row)
  }

  async list(ctx: Ctx, req: PageRequest) {
    requireAdmin(ctx)
    return mapPage(await this.users.page(req), toUser)
  }

  async delete(ctx: Ctx, id: string) {
    requireAdmin(ctx)
    const row = isId('usr', id) ? await this.users.findById(id) : undefined
    if (!row) throw errors.notFound('user')
    if (row.role === 'admin' && (await this.users.countAdmins()) <= 1) {
      throw errors.conflict('The last admin cannot be deleted')
    }
    await this.users.delete(id)
    return { success: true }
  }
}
