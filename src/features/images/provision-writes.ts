import type { Capabilities, Db } from '../../platform/db/database.js'
import type { Executor } from '../../platform/db/executor.js'
import type { JobQueue, JobRun } from '../../platform/jobs/job-queue.js'
import type { Logger } from '../../shared/logger.js'
import { ImagesRepository, type NewImage } from './images.repository.js'

/** At most this many results share one transaction. */
const MAX_BATCH = 64

interface Pending {
  row: NewImage
  run: JobRun | undefined
  resolve: (inserted: boolean) => void
  reject: (err: unknown) => void
}

const images = new ImagesRepository()

/**
 * Group commit for provisioning results. A result waits for the end of the
 * event loop's turn (on SQLite a write never waits on the database, so without
 * the pause no result would meet another); the results of that turn, and those
 * that arrive while a write is in flight, share one commit: on SQLite one
 * transaction of the file locks, one insert, one file update, the counters and
 * the jobs' ends; on PostgreSQL all of that as one statement, one round trip
 * (ImagesRepository.insertWaiting). A batch that fails is written again one
 * result at a time, so one bad result fails only its own job.
 */
export class ProvisionWrites {
  private queued: Pending[] = []
  private writing = false

  constructor(
    private readonly db: Db,
    private readonly capabilities: Capabilities,
    private readonly queue: JobQueue,
    private readonly log: Logger,
  ) {}

  /**
   * Inserts the image when its file still waits for one, and ends the job
   * (`run`) in the same commit. Resolves once committed: true when inserted,
   * false when the file went or got another image meanwhile.
   */
  write(row: NewImage, run: JobRun | undefined): Promise<boolean> {
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
        const inserted = await this.commit(batch)
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
        const inserted = await this.commit([p])
        p.resolve(inserted.has(p.row.id))
      } catch (err) {
        p.reject(err)
      }
    }
  }

  /** Writes the batch in one commit; the ids of the images inserted. */
  private commit(batch: Pending[]): Promise<Set<string>> {
    if (this.capabilities.driver === 'postgres') {
      const ended = batch.flatMap((p) => (p.run ? [p.run.completeWithin()] : []))
      return images.insertWaiting(
        this.db,
        onePerFile(batch),
        ended.length > 0 ? this.queue.completion(ended) : null,
      )
    }
    return this.db.transaction().execute((trx) => this.insert(trx, batch))
  }

  /** SQLite: the file reads and writes of one transaction, which holds the write lock throughout. */
  private async insert(trx: Executor, batch: Pending[]): Promise<Set<string>> {
    const rows = onePerFile(batch)
    const waiting = await trx
      .selectFrom('files')
      .select('id')
      .where(
        'id',
        'in',
        rows.map((row) => row.file_id),
      )
      .where('image_status', '=', 'pending')
      .execute()
    const pending = new Set(waiting.map((r) => r.id))
    const inserted = await images.insertMany(
      trx,
      rows.filter((row) => pending.has(row.file_id)),
    )
    // Together, so the queue may end them in one statement.
    await Promise.all(batch.map((p) => p.run?.complete(trx)))
    return inserted
  }
}

/** One image per file, the first offered: a job that runs twice at once offers the same file twice. */
function onePerFile(batch: Pending[]): NewImage[] {
  const rows = new Map<string, NewImage>()
  for (const p of batch) if (!rows.has(p.row.file_id)) rows.set(p.row.file_id, p.row)
  return [...rows.values()]
}
