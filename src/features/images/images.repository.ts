import { sql } from 'kysely'
import type { Executor } from '../../platform/db/executor.js'
import type { ImageTable } from '../../platform/db/tables.js'

export type ImageRow = ImageTable

/**
 * Image rows and the per-workspace counters that make `pageInfo.total` exact
 * without counting rows: every insert and delete changes both in the caller's
 * transaction.
 */
export class ImagesRepository {
  /** Inserts the image and binds it to its file; false when the file already has one (a job that ran twice). */
  async insert(trx: Executor, row: ImageRow): Promise<boolean> {
    const inserted = await trx
      .insertInto('images')
      .values(row)
      .onConflict((oc) => oc.column('file_id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!inserted) return false
    await this.bump(trx, row.workspace_id, 1)
    await trx
      .updateTable('files')
      .set({ image_status: 'ready', image_id: row.id, image_error: null })
      .where('id', '=', row.file_id)
      .execute()
    return true
  }

  /** Deletes the image row; returns it (for the provider clean-up) or undefined when already gone. */
  async delete(trx: Executor, id: string): Promise<ImageRow | undefined> {
    const row = await trx.deleteFrom('images').where('id', '=', id).returningAll().executeTakeFirst()
    if (row) await this.bump(trx, row.workspace_id, -1)
    return row
  }

  private async bump(trx: Executor, workspaceId: string, by: number): Promise<void> {
    await trx
      .updateTable('workspace_counters')
      .set({ images: sql`images + ${by}` })
      .where('workspace_id', '=', workspaceId)
      .execute()
  }
}
