import { type RawBuilder, sql } from 'kysely'
import { newId } from '../../shared/ids.js'
import type { Capabilities, Db } from '../db/database.js'
import type { Executor } from '../db/executor.js'
import type { ClaimedJob, JobQueue, JobRow, JobTaker, NewJob } from './job-queue.js'

/** Rows leased to a local worker by jobRow and not handed over yet, at most. */
const MAX_LEASED = 1024

/** The job queue on the application database (both dialects). */
export class DbJobQueue implements JobQueue {
  private listeners = new Set<() => void>()
  private readonly takers = new Set<JobTaker>()
  /** Jobs leased by jobRow, as their taker will run them, until their producer hands them over (notify). */
  private readonly leased = new Map<string, { taker: JobTaker; job: ClaimedJob }>()
  private readonly completing = new Map<Executor, { ids: string[]; done: Promise<void> }>()

  constructor(
    private readonly db: Db,
    private readonly capabilities: Capabilities,
    private readonly now: () => number = Date.now,
  ) {}

  async enqueue(db: Executor, job: NewJob): Promise<string> {
    // Never leased: the caller's transaction may still roll back after this insert.
    const row = this.newRow(job)
    await db.insertInto('jobs').values(row).execute()
    // Wake local workers once the caller's transaction has had a chance to commit.
    this.notify()
    return row.id
  }

  jobRow(job: NewJob): JobRow {
    const row = this.newRow(job)
    if (row.run_at > this.now()) return row
    for (const taker of this.takers) {
      const lease = taker.lease(job.kind)
      if (!lease) continue
      row.locked_by = lease.workerId
      row.locked_until = this.now() + lease.leaseMs
      row.attempts = 1
      // A producer whose statement failed never hands its row over: the oldest go first.
      if (this.leased.size >= MAX_LEASED) this.leased.delete(this.leased.keys().next().value!)
      this.leased.set(row.id, {
        taker,
        job: { id: row.id, kind: row.kind, payload: job.payload, attempts: 1 },
      })
      break
    }
    return row
  }

  private newRow(job: NewJob): JobRow {
    return {
      id: newId('job'),
      kind: job.kind,
      payload: JSON.stringify(job.payload),
      state: 'queued',
      run_at: job.runAt ?? this.now(),
      attempts: 0,
      locked_until: null,
      locked_by: null,
      last_error: null,
      created_at: new Date(this.now()).toISOString(),
    }
  }

  notify(row?: JobRow): void {
    const leased = row && this.leased.get(row.id)
    if (row && leased) {
      this.leased.delete(row.id)
      leased.taker.take(leased.job)
      return
    }
    setImmediate(() => {
      for (const listener of this.listeners) listener()
    })
  }

  /** Called when a job may have become due in this process; workers poll as well. */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A worker of this process offers to take new jobs as they are produced (see jobRow). */
  lendTo(taker: JobTaker): () => void {
    this.takers.add(taker)
    return () => this.takers.delete(taker)
  }

  /**
   * One WITH … UPDATE … RETURNING statement: atomic on SQLite, and on
   * PostgreSQL the SKIP LOCKED pick keeps concurrent workers off each other's
   * rows while the outer lease check is re-evaluated on the locked row
   * version. The pick is a MATERIALIZED CTE because PostgreSQL may rescan an
   * `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` subquery once per outer
   * row, which claimed every due job whatever the limit. On SQLite the whole
   * statement runs under the write lock, so the pick needs no second check,
   * and without one the update finds its rows by primary key: with it,
   * SQLite's planner walked every due job of the index (~0.5 ms a claim
   * behind a backlog of 700 uploads).
   */
  async claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    const now = this.now()
    const due = sql`state = 'queued' and run_at <= ${now} and (locked_until is null or locked_until < ${now})`
    const { skipLocked } = this.capabilities
    const lock = skipLocked ? sql`for update skip locked` : sql``
    const stillDue = skipLocked ? sql`and ${due}` : sql``
    const result = await sql<{ id: string; kind: string; payload: string; attempts: number }>`
      with picked as materialized (select id from jobs where ${due} order by run_at, id limit ${limit} ${lock})
      update jobs
      set locked_by = ${workerId}, locked_until = ${now + leaseMs}, attempts = attempts + 1
      where id in (select id from picked) ${stillDue}
      returning id, kind, payload, attempts`.execute(this.db)
    return result.rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
      attempts: Number(r.attempts),
    }))
  }

  /**
   * Completions on one executor asked for in the same tick (a group commit
   * ending its jobs with Promise.all) share one DELETE: one round trip, not one a job.
   */
  complete(job: ClaimedJob, trx: Executor = this.db): Promise<void> {
    let batch = this.completing.get(trx)
    if (!batch) {
      const ids: string[] = []
      const done = Promise.resolve().then(async () => {
        this.completing.delete(trx)
        await this.completion(ids).execute(trx)
      })
      batch = { ids, done }
      this.completing.set(trx, batch)
    }
    batch.ids.push(job.id)
    return batch.done
  }

  completion(ids: readonly string[]): RawBuilder<unknown> {
    // On PostgreSQL one text for any number of jobs, planned once.
    return this.capabilities.driver === 'postgres'
      ? sql`delete from jobs where id = any(${ids}::text[])`
      : sql`delete from jobs where id in (${sql.join(ids)})`
  }

  async retry(job: ClaimedJob, error: string, runAt: number): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ run_at: runAt, locked_by: null, locked_until: null, last_error: error })
      .where('id', '=', job.id)
      .execute()
  }

  async fail(job: ClaimedJob, error: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ state: 'failed', locked_by: null, locked_until: null, last_error: error })
      .where('id', '=', job.id)
      .execute()
  }

  async extend(job: ClaimedJob, workerId: string, leaseMs: number): Promise<boolean> {
    const held = await this.db
      .updateTable('jobs')
      .set({ locked_until: this.now() + leaseMs })
      .where('id', '=', job.id)
      .where('locked_by', '=', workerId)
      .where('state', '=', 'queued')
      .returning('id')
      .executeTakeFirst()
    return held !== undefined
  }

  async release(job: ClaimedJob): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ locked_by: null, locked_until: null, attempts: sql`attempts - 1` })
      .where('id', '=', job.id)
      .execute()
  }
}
