import type { RawBuilder } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { JobTable } from '../db/tables.js'

export interface NewJob {
  kind: string
  payload: Record<string, unknown>
  /** Epoch ms; now when omitted. */
  runAt?: number
}

/** A new job's row, as `enqueue` inserts it. */
export type JobRow = Omit<JobTable, 'attempts'> & { attempts: number }

export interface ClaimedJob {
  id: string
  kind: string
  payload: Record<string, unknown>
  attempts: number
}

/**
 * Durable jobs in the database. `enqueue` joins the caller's transaction, so a
 * job exists exactly when the row that needs it does. Claims hold a lease: a
 * job whose worker died is claimed again once the lease runs out, so handlers
 * must be idempotent.
 */
export interface JobQueue {
  enqueue(db: Executor, job: NewJob): Promise<string>
  /**
   * The row of a new job, for a caller that inserts it within a statement of
   * its own (one round trip for several writes); once that has committed, it
   * calls `notify(row)`. When a worker of this process has room, the row comes
   * leased to it, and `notify` hands the job over: it starts without a claim.
   * A row that never commits leaves nothing behind; one whose worker dies
   * before it runs is claimed again when the lease runs out, as any claim's.
   */
  jobRow(job: NewJob): JobRow
  /** Tells this process's workers that a job may have become due; with a committed `jobRow`, hands it over. */
  notify(row?: JobRow): void
  claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedJob[]>
  /**
   * Ends the job as done; with `trx`, inside the caller's transaction (the job
   * ends when it commits). Calls on one executor in the same tick may share a statement.
   */
  complete(job: ClaimedJob, trx?: Executor): Promise<void>
  /**
   * The statement that ends these jobs as done, for a caller that runs it
   * within a writing statement of its own (a PostgreSQL CTE), as `jobRow` is
   * for `enqueue`; the handler asks its run for the id (JobRun.completeWithin).
   */
  completion(ids: readonly string[]): RawBuilder<unknown>
  /** Releases the job to run again at `runAt` (backoff), recording why. */
  retry(job: ClaimedJob, error: string, runAt: number): Promise<void>
  /** Ends the job for good, recording why. */
  fail(job: ClaimedJob, error: string): Promise<void>
  /** Gives back a claimed job untouched (shutdown). */
  release(job: ClaimedJob): Promise<void>
  /** Renews the lease of a job `workerId` still holds (a long job's heartbeat); false when it lost the job. */
  extend(job: ClaimedJob, workerId: string, leaseMs: number): Promise<boolean>
}

/** What a worker lends a running handler. */
export interface JobRun {
  /**
   * Completes the job inside the handler's own transaction, so its result and
   * the job's end commit together (one commit fewer, and no window in which
   * the work is done but the job still due). A handler that calls this must
   * let a failure of that transaction propagate; the worker then completes
   * nothing itself.
   */
  complete(trx: Executor): Promise<void>
  /**
   * For a handler that ends the job within a writing statement of its own
   * (JobQueue.completion), with its result: returns the job's id for that
   * statement, and the worker then completes nothing itself. A failure of
   * the statement must fail the handler.
   */
  completeWithin(): string
  /**
   * The handler's costly part (CPU, memory) is over and it only waits on I/O,
   * such as a group commit: the worker may start another job in its slot
   * meanwhile. The job still runs, and holds its lease, until the handler returns.
   */
  yieldSlot(): void
}

/**
 * Runs one job; must be idempotent (a job may run again after a crash). `run`
 * is absent when a job is run by hand (tests): the caller completes it.
 */
export type JobHandler = (payload: Record<string, unknown>, job: ClaimedJob, run?: JobRun) => Promise<void>

/** Thrown by a handler for a failure that no retry can fix (an undecodable file): the job ends `failed` at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError'
}

/** Job kinds, so producers and handlers agree on names. */
export const JobKinds = {
  /** payload `{fileId}`: decode, analyse and upload to the provider, then insert the image row. */
  provision: 'image.provision',
  /** payload `{provider, cfImageId}`: remove a provider's copy; unknown copies count as removed. */
  providerDelete: 'image.provider-delete',
  /** payload `{key}` or `{prefix}`: remove original bytes. */
  blobDelete: 'blob.delete',
} as const

/** A worker of this process that takes new jobs straight from their producer (see JobQueue.jobRow). */
export interface JobTaker {
  /** The lease to write into a new job of `kind`, when the worker has room for one more; else null. */
  lease(kind: string): { workerId: string; leaseMs: number } | null
  /** A job leased to it by `lease` has committed: run it. */
  take(job: ClaimedJob): void
}
