import type { Db } from '../../platform/db/database.js'
import type { Clock } from '../../shared/clock.js'
import { newId } from '../../shared/ids.js'
import type { TokensService } from './tokens.service.js'

export type BootstrapResult =
  | { created: false }
  | { created: true; email: string; token: string; generated: boolean }

/**
 * When no admin exists, creates admin@localhost with BOOTSTRAP_ADMIN_TOKEN or a
 * fresh token, which the caller prints once. Once an admin exists it does
 * nothing: a revoked bootstrap token must not come back at the next restart.
 */
export async function bootstrapAdmin(
  deps: { db: Db; clock: Clock; tokens: TokensService },
  configuredToken: string | null,
): Promise<BootstrapResult> {
  const admin = await deps.db.selectFrom('users').select('id').where('role', '=', 'admin').executeTakeFirst()
  if (admin) return { created: false }
  const email = 'admin@localhost'
  const existing = await deps.db
    .selectFrom('users')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirst()
  const userId = existing?.id ?? newId('usr')
  if (existing) {
    await deps.db.updateTable('users').set({ role: 'admin' }).where('id', '=', userId).execute()
  } else {
    await deps.db
      .insertInto('users')
      .values({
        id: userId,
        email,
        name: 'Administrator',
        role: 'admin',
        created_at: deps.clock.now().toISOString(),
      })
      .execute()
  }
  const minted = await deps.tokens.mint(userId, 'bootstrap', null, configuredToken ?? undefined)
  return { created: true, email, token: minted.token, generated: configuredToken === null }
}
