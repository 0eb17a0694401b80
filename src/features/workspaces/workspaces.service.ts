import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import { mapPage, type PageRequest } from '../../platform/db/statements.js'
import type { MemberRole } from '../../platform/db/tables.js'
import type { Clock } from '../../shared/clock.js'
import { errors } from '../../shared/errors.js'
import { isId, newId } from '../../shared/ids.js'
import type { Access } from './access.js'
import { type Trx, WorkspacesRepository } from './workspaces.repository.js'

/** Removes a workspace's content inside the transaction that deletes it (files, images, their jobs). */
export type WorkspacePurge = (trx: Trx, workspaceId: string) => Promise<void>

interface WorkspaceRow {
  id: string
  name: string
  created_at: string
  role: MemberRole | null
}

const toWorkspace = (r: WorkspaceRow) => ({ id: r.id, name: r.name, createdAt: r.created_at, role: r.role })

export class WorkspacesService {
  private readonly repo: WorkspacesRepository

  constructor(
    private readonly deps: {
      db: Db
      clock: Clock
      access: Access
      purge: WorkspacePurge
    },
  ) {
    this.repo = new WorkspacesRepository(deps.db)
  }

  async create(ctx: Ctx, input: { name: string }) {
    const row = { id: newId('ws'), name: input.name.trim(), created_at: this.deps.clock.now().toISOString() }
    await this.repo.create(row, ctx.principal.userId)
    return toWorkspace({ ...row, role: 'owner' })
  }

  async list(ctx: Ctx, req: PageRequest) {
    const { userId, role } = ctx.principal
    const all = role === 'admin'
    return mapPage(await this.repo.page(userId, all, req), toWorkspace)
  }

  async get(ctx: Ctx, id: string) {
    const { role } = await this.deps.access.workspace(ctx, id, 'viewer')
    const row = await this.repo.findById(id)
    if (!row) throw errors.notFound('workspace')
    return toWorkspace({ ...row, role })
  }

  async rename(ctx: Ctx, id: string, input: { name: string }) {
    await this.deps.access.workspace(ctx, id, 'owner')
    await this.repo.rename(id, input.name.trim())
    return this.get(ctx, id)
  }

  async delete(ctx: Ctx, id: string) {
    await this.deps.access.workspace(ctx, id, 'owner')
    await this.repo.delete(id, this.deps.purge)
    return { success: true }
  }

  // Members

  async members(ctx: Ctx, workspaceId: string, req: PageRequest) {
    await this.deps.access.workspace(ctx, workspaceId, 'viewer')
    return mapPage(await this.repo.membersPage(workspaceId, req), (r) => toMember(r, ctx))
  }

  async putMember(ctx: Ctx, workspaceId: string, userId: string, role: MemberRole) {
    await this.deps.access.workspace(ctx, workspaceId, 'owner')
    const user = isId('usr', userId)
      ? await this.deps.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()
      : undefined
    if (!user) throw errors.notFound('user')
    const outcome = await this.repo.setMember(workspaceId, userId, role, this.deps.clock.now().toISOString())
    if (outcome === 'last_owner') throw errors.conflict('The last owner of a workspace cannot be demoted')
    const member = await this.repo.findMember(workspaceId, userId)
    if (!member) throw errors.notFound('member')
    return { created: outcome === 'added', member: toMember(member, ctx) }
  }

  /** Owners remove anyone; any member may remove themself. */
  async removeMember(ctx: Ctx, workspaceId: string, userId: string) {
    const self = userId === ctx.principal.userId
    await this.deps.access.workspace(ctx, workspaceId, self ? 'viewer' : 'owner')
    const outcome = isId('usr', userId) ? await this.repo.setMember(workspaceId, userId, null, '') : 'missing'
    if (outcome === 'missing') throw errors.notFound('member')
    if (outcome === 'last_owner') throw errors.conflict('The last owner of a workspace cannot be removed')
    return { success: true }
  }
}

/**
 * A member as the caller may see it: the email only for admins and for the
 * member themself, who could read it anyway (`GET /api/users/{id}`, `/api/me`);
 * an owner adding a user by id learns no address.
 */
const toMember = (
  r: { user_id: string; email: string; name: string | null; role: MemberRole; created_at: string },
  ctx: Ctx,
) => ({
  userId: r.user_id,
  email: ctx.principal.role === 'admin' || ctx.principal.userId === r.user_id ? r.email : null,
  name: r.name,
  role: r.role,
  createdAt: r.created_at,
})
