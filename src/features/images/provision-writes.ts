import type { Capabilities, Db } from '../../platform/db/database.js'
import type { Executor } from '../../platform/db/executor.js'
import type { JobRun } from '../../platform/jobs/job-queue.js'
import type { Logger } from '../../shared/logger.js'
import { type ImageRow, ImagesRepository } from './images.repository.js'

/** At most this many results share one transaction. */
const MAX_BATCH = 64

interface Pending {
  row: ImageRow
  run: JobRun | undefined
  resolve: (inserted: boolean) => void
  reject: (err: unknown) => void
}

const images = new ImagesRepository()

/**
 * Group commit for provisioning results. A result waits for the end of the
 * event loop's turn (on SQLite a write never waits on the database, so without
 * the pause no result would meet another); the results of that turn, and those
 * that arrive while a write is in flight, share one transaction: the file
 * locks, one insert, one file update, the counters and the jobs' ends, then one
 * commit, instead of a transaction each. A batch that
 * fails is written again one result per transaction, so one bad result fails
 * only its own job.
 */
export class ProvisionWrites {
  private queued: Pending[] = []
  private writing = false

  constructor(
    private readonly db: Db,
    private readonly capabilities: Capabilities,
    private readonly log: Logger,
  ) {}

  /**
   * Inserts the image when its file still waits for one, and ends the job
   * (`run`) in the same commit. Resolves once committed: true when inserted,
   * false when the file went or got another image meanwhile.
   */
  write(row: ImageRow, run: JobRun | undefined): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queued.push({ row, run, resolve, reject })
      if (this.writing) return
      this.writing = true
      setImmediate(() => void this.drain())
    })
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) await this.writeBatch(this.queued.splice(0, MAX_BATCH))
    } finally {
      this.writing = false
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const inserted = await this.db.transaction().execute((trx) => this.insert(trx, batch))
        for (const p of batch) p.resolve(inserted.has(p.row.id))
        return
      } catch (err) {
        this.log.warn(
          { err, size: batch.length },
          'a provisioning batch failed; writing its results one by one',
        )
      }
    }
    for (const p of batch) {
      try {
        const inserted = await this.db.transaction().execute((trx) => this.insert(trx, [p]))
        p.resolve(inserted.has(p.row.id))
      } catch (err) {
        p.reject(err)
      }
    }
  }

  private async insert(trx: Executor, batch: Pending[]): Promise<Set<string>> {
    const fileIds = [...new Set(batch.map((p) => p.row.file_id))].sort()
    let waiting = trx
      .selectFrom('files')
      .select('id')
      .where('id', 'in', fileIds)
      .where('image_status', '=', 'pending')
      .orderBy('id')
    // PostgreSQL: wait for a concurrent file delete to commit or roll back, taking the rows in one
    // order (the counters come after them, as in a delete); SQLite serialises writers.
    if (this.capabilities.driver === 'postgres') waiting = waiting.forUpdate()
    const pending = new Set((await waiting.execute()).map((r) => r.id))
    // One image per file: a job that runs twice at once offers the same file twice.
    const rows = new Map<string, ImageRow>()
    for (const p of batch)
      if (pending.has(p.row.file_id) && !rows.has(p.row.file_id)) rows.set(p.row.file_id, p.row)
    const inserted = await images.insertMany(trx, [...rows.values()])
    // Together, so the queue may end them in one statement.
    await Promise.all(batch.map((p) => p.run?.complete(trx)))
    return inserted
  }
}
