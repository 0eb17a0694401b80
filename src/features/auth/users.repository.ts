import type { Db } from '../../platform/db/database.js'
import { keysetList, type PageRequest } from '../../platform/db/statements.js'
import type { TokenTable, UserTable } from '../../platform/db/tables.js'

export type UserRow = UserTable
export type TokenRow = Omit<TokenTable, 'hash'>

const userList = keysetList('id', (db, { ids }: { ids?: readonly string[] }) => {
  let q = db.selectFrom('users').selectAll()
  if (ids) q = q.where('id', 'in', ids)
  return q
})

const tokenList = keysetList('id', (db, { userId, ids }: { userId: string; ids?: readonly string[] }) => {
  let q = db
    .selectFrom('tokens')
    .select(['id', 'user_id', 'name', 'created_at', 'expires_at'])
    .where('user_id', '=', userId)
  if (ids) q = q.where('id', 'in', ids)
  return q
})

export class UsersRepository {
  constructor(private readonly db: Db) {}

  findById(id: string) {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async insert(row: UserRow): Promise<void> {
    await this.db.insertInto('users').values(row).execute()
  }

  async countAdmins(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin')
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  /** Removes the user, its tokens and memberships in one transaction. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('tokens').where('user_id', '=', id).execute()
      await trx.deleteFrom('members').where('user_id', '=', id).execute()
      const r = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      return r.numDeletedRows > 0n
    })
  }

  /** A page of the users list. */
  page(req: PageRequest) {
    return userList.read(this.db, { ids: req.ids }, req)
  }
}

export class TokensRepository {
  constructor(private readonly db: Db) {}

  async insert(row: TokenTable): Promise<void> {
    await this.db.insertInto('tokens').values(row).execute()
  }

  /** The token and its user in one indexed lookup; null when unknown. */
  findByHash(hash: string) {
    return this.db
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select([
        'tokens.id as tokenId',
        'tokens.expires_at as expiresAt',
        'users.id as userId',
        'users.role as role',
      ])
      .where('tokens.hash', '=', hash)
      .executeTakeFirst()
  }

  findById(id: string) {
    return this.db
      .selectFrom('tokens')
      .select(['id', 'user_id', 'name', 'created_at', 'expires_at'])
      .where('id', '=', id)
      .executeTakeFirst()
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst()
    return r.numDeletedRows > 0n
  }

  /** A page of a user's tokens. */
  page(userId: string, req: PageRequest) {
    return tokenList.read(this.db, { userId, ids: req.ids }, req)
  }
}
