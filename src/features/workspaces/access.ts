import type { Ctx } from '../../http/context.js'
import type { Db } from '../../platform/db/database.js'
import type { MemberRole } from '../../platform/db/tables.js'
import { errors } from '../../shared/errors.js'
import { isId } from '../../shared/ids.js'

const rank: Record<MemberRole, number> = { viewer: 1, editor: 2, owner: 3 }

export interface WorkspaceAccess {
  /** The caller's membership role; null for an admin who is not a member. */
  role: MemberRole | null
}

/**
 * The one access check: a workspace the caller cannot see answers `not_found`
 * for `resource` exactly as a missing one would; `forbidden` only when the
 * caller can see it but its role is below `need`.
 */
export class Access {
  constructor(private readonly db: Db) {}

  /** Roles and visible workspaces come through the request's read cache (see ReadCache), when it has one. */
  private cached<V>(ctx: Ctx, key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    return ctx.reads ? ctx.reads.through(`access ${key}`, load) : load()
  }

  /** The caller's access to a workspace. */
  async workspace(
    ctx: Ctx,
    workspaceId: string,
    need: MemberRole,
    resource = 'workspace',
  ): Promise<WorkspaceAccess> {
    if (!isId('ws', workspaceId)) throw errors.notFound(resource)
    const { userId } = ctx.principal
    if (ctx.principal.role === 'admin') {
      const row = await this.cached(ctx, `a ${userId} ${workspaceId}`, () =>
        this.db
          .selectFrom('workspaces')
          .leftJoin('members', (j) =>
            j.onRef('members.workspace_id', '=', 'workspaces.id').on('members.user_id', '=', userId),
          )
          .select('members.role')
          .where('workspaces.id', '=', workspaceId)
          .executeTakeFirst(),
      )
      if (!row) throw errors.notFound(resource)
      return { role: row.role }
    }
    const member = await this.cached(ctx, `m ${userId} ${workspaceId}`, () =>
      this.db
        .selectFrom('members')
        .select('role')
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    )
    if (!member) throw errors.notFound(resource)
    if (rank[member.role] < rank[need]) throw errors.forbidden()
    return { role: member.role }
  }

  /** Workspace ids the caller may read; null means every workspace (admins). */
  async visibleWorkspaceIds(ctx: Ctx): Promise<string[] | null> {
    if (ctx.principal.role === 'admin') return null
    const ids = await this.cached(ctx, `v ${ctx.principal.userId}`, async () => {
      const rows = await this.db
        .selectFrom('members')
        .select('workspace_id')
        .where('user_id', '=', ctx.principal.userId)
        .execute()
      return rows.map((r) => r.workspace_id)
    })
    return [...(ids ?? [])]
  }
}
