import type { Transaction } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { Executor } from '../../platform/db/executor.js'
import { keysetList, type PageRequest } from '../../platform/db/statements.js'
import type { Database, MemberRole, WorkspaceTable } from '../../platform/db/tables.js'
import { newId } from '../../shared/ids.js'

export type Trx = Transaction<Database>

/** Visible workspaces with the caller's role: all for admins (role null where not a member). */
const workspaceList = keysetList(
  'workspaces.id',
  (db, { userId, all, ids }: { userId: string; all: boolean; ids?: readonly string[] }) => {
    let q = db
      .selectFrom('workspaces')
      .leftJoin('members', (j) =>
        j.onRef('members.workspace_id', '=', 'workspaces.id').on('members.user_id', '=', userId),
      )
      .select(['workspaces.id', 'workspaces.name', 'workspaces.created_at', 'members.role'])
    if (!all) q = q.where('members.user_id', '=', userId)
    if (ids) q = q.where('workspaces.id', 'in', ids)
    return q
  },
)

function membersOf(
  db: Executor,
  { workspaceId, userIds }: { workspaceId: string; userIds?: readonly string[] },
) {
  let q = db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select([
      'members.id',
      'members.user_id',
      'users.email',
      'users.name',
      'members.role',
      'members.created_at',
    ])
    .where('members.workspace_id', '=', workspaceId)
  if (userIds) q = q.where('members.user_id', 'in', userIds)
  return q
}

const memberList = keysetList('members.id', membersOf)

export class WorkspacesRepository {
  constructor(private readonly db: Db) {}

  /** The workspace, its counters row and its first owner, atomically. */
  async create(row: WorkspaceTable, ownerId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('workspaces').values(row).execute()
      await trx.insertInto('workspace_counters').values({ workspace_id: row.id }).execute()
      await trx
        .insertInto('members')
        .values({
          id: newId('mem'),
          workspace_id: row.id,
          user_id: ownerId,
          role: 'owner',
          created_at: row.created_at,
        })
        .execute()
    })
  }

  /** A page of the visible workspaces with the caller's role: all for admins (role null where not a member). */
  page(userId: string, all: boolean, req: PageRequest) {
    return workspaceList.read(this.db, { userId, all, ids: req.ids }, req)
  }

  findById(id: string) {
    return this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async rename(id: string, name: string): Promise<void> {
    await this.db.updateTable('workspaces').set({ name }).where('id', '=', id).execute()
  }

  async delete(id: string, purge: (trx: Trx, workspaceId: string) => Promise<void>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await purge(trx, id)
      await trx.deleteFrom('members').where('workspace_id', '=', id).execute()
      await trx.deleteFrom('workspace_counters').where('workspace_id', '=', id).execute()
      await trx.deleteFrom('workspaces').where('id', '=', id).execute()
    })
  }

  // Members

  /** A page of a workspace's members (`ids` are user ids). */
  membersPage(workspaceId: string, req: PageRequest) {
    return memberList.read(this.db, { workspaceId, userIds: req.ids }, req)
  }

  findMember(workspaceId: string, userId: string) {
    return membersOf(this.db, { workspaceId, userIds: [userId] }).executeTakeFirst()
  }

  /**
   * Adds or changes a membership, or removes it (role null), refusing to leave
   * the workspace without an owner. Runs in one transaction so two concurrent
   * demotions cannot both pass the check.
   */
  async setMember(
    workspaceId: string,
    userId: string,
    role: MemberRole | null,
    now: string,
  ): Promise<'added' | 'changed' | 'removed' | 'missing' | 'last_owner'> {
    return this.db.transaction().execute(async (trx) => {
      // Touch the workspace row first: on PostgreSQL this serialises membership changes per workspace.
      await trx.updateTable('workspaces').set({ id: workspaceId }).where('id', '=', workspaceId).execute()
      const current = await trx
        .selectFrom('members')
        .select(['id', 'role'])
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      if (!current && role === null) return 'missing'
      if (current?.role === 'owner' && role !== 'owner') {
        const owners = await trx
          .selectFrom('members')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('workspace_id', '=', workspaceId)
          .where('role', '=', 'owner')
          .executeTakeFirstOrThrow()
        if (Number(owners.n) <= 1) return 'last_owner'
      }
      if (!current) {
        await trx
          .insertInto('members')
          .values({
            id: newId('mem'),
            workspace_id: workspaceId,
            user_id: userId,
            role: role!,
            created_at: now,
          })
          .execute()
        return 'added'
      }
      if (role === null) {
        await trx.deleteFrom('members').where('id', '=', current.id).execute()
        return 'removed'
      }
      await trx.updateTable('members').set({ role }).where('id', '=', current.id).execute()
      return 'changed'
    })
  }
}
