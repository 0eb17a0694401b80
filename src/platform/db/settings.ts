import { randomBytes } from 'node:crypto'
import type { Db } from './database.js'

/**
 * A random secret made once per deployment and kept in the database, so every
 * node (API or worker) uses the same one: cursor signing, provider ids.
 */
export async function deploymentSecret(db: Db, key: string): Promise<Buffer> {
  await db
    .insertInto('settings')
    .values({ key, value: randomBytes(32).toString('base64') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute()
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow()
  return Buffer.from(row.value, 'base64')
}
