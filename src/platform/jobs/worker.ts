import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from '../../shared/logger.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import {
  type ClaimedJob,
  type JobHandler,
  type JobQueue,
  type JobTaker,
  PermanentJobError,
} from './job-queue.js'

/** Runs when a job ends `failed` for good, so the row waiting on it can say why (a file's `image.error`). */
export type JobFailureHook = (payload: Record<string, unknown>, reason: string) => Promise<void>

export interface WorkerDeps {
  queue: JobQueue & {
    onEnqueue?(listener: () => void): () => void
    lendTo?(taker: JobTaker): () => void
  }
  jobHandlers: ReadonlyMap<string, JobHandler>
  jobFailureHooks?: ReadonlyMap<string, JobFailureHook>
  log: Logger
}

export interface WorkerOptions {
  /** Jobs run at once, not counting those that yielded their slot while they wait on I/O (default 2). */
  concurrency?: number
  /** How long a claim holds without a heartbeat; heartbeats renew it every third of it (default 60 s). */
  leaseMs?: number
  /** Idle polling interval; a local enqueue wakes the worker at once (default 250 ms). */
  pollMs?: number
  /** Attempts before an ordinary error fails the job for good (default 8). */
  maxAttempts?: number
  /** First retry delay, doubled per attempt, with jitter (default 1 s, capped at 5 min). */
  backoffMs?: number
  maxBackoffMs?: number
}

const MAX_REASON = 1000
/** A failure that could not be recorded is tried again after this, doubling up to the max. */
const FIRST_SETTLE_DELAY_MS = 250
const MAX_SETTLE_DELAY_MS = 4_000

/** Claims that fail wait this long at first, doubled after each failure up to MAX_CLAIM_BACKOFF_MS. */
const FIRST_CLAIM_BACKOFF_MS = 500
const MAX_CLAIM_BACKOFF_MS = 5_000

/**
 * Jobs that gave back their slot (JobRun.yieldSlot) and only wait on I/O, at
 * most; they hold just their result, and a group commit writes this many at once.
 */
const MAX_YIELDED = 64

/**
 * Claims due jobs from the queue and runs their handlers with bounded
 * concurrency. Ordinary errors retry with exponential backoff and jitter;
 * a PermanentJobError, an unknown kind or the last attempt fail the job at
 * once, after the kind's failure hook has recorded the reason. A crash loses
 * nothing: a claim is a lease, renewed until the job ends, so a dead
 * worker's jobs become due again soon after it stops renewing them. Jobs
 * made in this process (JobQueue.jobRow) come to it already leased while it
 * has room, with no claim; it claims when told of other new jobs, while the
 * queue holds more than its last claim took, and on its poll.
 */
export class Worker implements JobTaker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly running = new Map<string, { job: ClaimedJob; done: Promise<void> }>()
  /** Running jobs that hold one of the `concurrency` slots (the others yielded theirs). */
  private holding = 0
  /**
   * Claimed jobs waiting for a slot, at most two a slot: a slot that frees
   * starts the next job at once instead of after a claim's round trip, and
   * the list is refilled only once down to one a slot, so a claim takes
   * `concurrency` jobs or more in one statement.
   */
  private readonly ready: ClaimedJob[] = []
  /** The lease heartbeats of the claimed jobs, ready or running. */
  private readonly heartbeats = new Map<string, NodeJS.Timeout>()
  private readonly opts: Required<WorkerOptions>
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle'
  private claiming = false
  private again = false
  /** The last claim came back full: more jobs are probably due. */
  private backlog = true
  private timer: NodeJS.Timeout | null = null
  /** Claims failed in a row; while any did, claims wait for the backoff timer, whatever pokes the worker. */
  private failedClaims = 0
  /** When the database stopped answering the claims, while it does not: said once, and once when it is back. */
  private outageSince: number | null = null
  /** Timers of failures to record again (settleLater). */
  private readonly settling = new Set<NodeJS.Timeout>()
  private unsubscribe: (() => void) | null = null
  private unlend: (() => void) | null = null

  constructor(
    private readonly deps: WorkerDeps,
    options: WorkerOptions = {},
  ) {
    this.opts = {
      concurrency: options.concurrency ?? 2,
      leaseMs: options.leaseMs ?? 60_000,
      pollMs: options.pollMs ?? 250,
      maxAttempts: options.maxAttempts ?? 8,
      backoffMs: options.backoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 5 * 60_000,
    }
  }

  start(): this {
    if (this.state !== 'idle') return this
    this.state = 'running'
    this.unsubscribe = this.deps.queue.onEnqueue?.(() => this.onEnqueue()) ?? null
    this.unlend = this.deps.queue.lendTo?.(this) ?? null
    this.poke()
    return this
  }

  /** Jobs running right now. */
  get busy(): number {
    return this.running.size
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for running jobs, then gives back
   * the ones still running so another worker takes them at once.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return
    this.state = 'stopping'
    this.unsubscribe?.()
    this.unlend?.()
    if (this.timer) clearTimeout(this.timer)
    for (const timer of this.settling) clearTimeout(timer)
    this.settling.clear()
    for (const job of this.ready.splice(0)) await this.giveBack(job)
    let timeout: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timeout = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), waited])
    clearTimeout(timeout)
    for (const { job } of this.running.values()) await this.giveBack(job)
    this.running.clear()
    this.state = 'stopped'
  }

  /** A new job may come leased to this worker while its ready list has room (JobQueue.jobRow). */
  lease(kind: string): { workerId: string; leaseMs: number } | null {
    if (this.state !== 'running' || !this.deps.jobHandlers.has(kind)) return null
    if (this.ready.length >= 2 * this.opts.concurrency) return null
    return { workerId: this.id, leaseMs: this.opts.leaseMs }
  }

  /** A job leased by `lease` has committed: it joins the ready list as a claimed one would. */
  take(job: ClaimedJob): void {
    if (this.state !== 'running') {
      void this.giveBack(job)
      return
    }
    this.renewLease(job)
    this.ready.push(job)
    this.startReady()
  }

  /**
   * The queue tells us right after the INSERT; the enqueuing transaction may
   * commit a little later (a PostgreSQL round trip), so look again shortly.
   */
  private onEnqueue(): void {
    this.poke()
    for (const delay of [20, 80]) setTimeout(() => this.poke(), delay).unref()
  }

  /**
   * Starts ready jobs in the free slots, then claims for the slots still free
   * and the ready list; called on start, enqueue, job end and by the poll timer.
   */
  private poke(): void {
    if (this.state !== 'running') return
    this.startReady()
    // Claims failed: the backoff timer asks next, not every enqueue or job end.
    if (this.failedClaims > 0 && this.timer) return
    if (this.claiming) {
      this.again = true
      return
    }
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    void this.fill()
  }

  private async fill(): Promise<void> {
    this.claiming = true
    let retryIn = this.opts.pollMs
    try {
      do {
        this.again = false
        const free = this.free()
        if (this.state !== 'running' || (free <= 0 && this.ready.length > this.opts.concurrency)) break
        const wanted = free + 2 * this.opts.concurrency - this.ready.length
        const jobs = await this.deps.queue.claim(this.id, wanted, this.opts.leaseMs)
        this.claimSucceeded()
        if (this.state !== 'running') {
          // Stopped while claiming: the jobs go back at once.
          for (const job of jobs) await this.giveBack(job)
          break
        }
        for (const job of jobs) {
          this.renewLease(job)
          this.ready.push(job)
        }
        this.startReady()
        // A full batch suggests more are due: claim again instead of waiting for the poll.
        this.backlog = jobs.length === wanted
        if (this.backlog) this.again = true
      } while (this.again)
    } catch (err) {
      retryIn = this.claimFailed(err)
    } finally {
      this.claiming = false
    }
    if (this.state === 'running' && (this.free() > 0 || this.failedClaims > 0)) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.poke()
      }, retryIn)
      this.timer.unref()
    }
  }

  /**
   * A claim failed: the next waits, longer after each failure. An unavailable
   * database (stopped, hung, restarting, locked) is said once per outage, not
   * once per attempt; anything else is an error every time.
   */
  private claimFailed(err: unknown): number {
    this.failedClaims++
    if (!isDatabaseUnavailable(err)) this.deps.log.error({ err }, 'claiming jobs failed')
    else if (this.outageSince === null) {
      this.outageSince = Date.now()
      this.deps.log.warn({ err }, 'the database is unavailable: job claims paused, retrying with backoff')
    }
    return Math.min(MAX_CLAIM_BACKOFF_MS, FIRST_CLAIM_BACKOFF_MS * 2 ** (this.failedClaims - 1))
  }

  private claimSucceeded(): void {
    this.failedClaims = 0
    if (this.outageSince === null) return
    this.deps.log.info(
      { pausedMs: Date.now() - this.outageSince },
      'the database is available again: job claims resumed',
    )
    this.outageSince = null
  }

  /**
   * A slot is free: a ready job takes it. A claim goes out at once only while
   * the queue held more than the last claim took; otherwise new jobs reach
   * this worker by its own producers (take, onEnqueue) and the poll finds
   * the others, so an idle queue is not asked again after every job.
   */
  private slotFreed(): void {
    if (this.backlog) {
      this.poke()
      return
    }
    this.startReady()
    if (this.state === 'running' && !this.claiming && !this.timer && this.free() > 0) {
      this.timer = setTimeout(() => this.poke(), this.opts.pollMs)
      this.timer.unref()
    }
  }

  /** Jobs that may start now: a slot each, and room among the yielded ones for those that will yield. */
  private free(): number {
    return Math.min(
      this.opts.concurrency - this.holding,
      MAX_YIELDED + this.opts.concurrency - this.running.size,
    )
  }

  private startReady(): void {
    while (this.ready.length > 0 && this.free() > 0 && this.state === 'running')
      this.launch(this.ready.shift()!)
  }

  /** Renews the job's lease every third of it from its claim until it ends (a long job, or a wait for a slot). */
  private renewLease(job: ClaimedJob): void {
    const { queue, log } = this.deps
    const heartbeat = setInterval(() => {
      queue
        .extend(job, this.id, this.opts.leaseMs)
        .then((held) => {
          if (!held) log.warn({ jobId: job.id, kind: job.kind }, 'lost the lease of a claimed job')
        })
        .catch((err) => {
          // During an outage the claims have said so already.
          if (!(this.outageSince !== null && isDatabaseUnavailable(err)))
            log.warn({ err, jobId: job.id }, 'lease renewal failed')
        })
    }, this.opts.leaseMs / 3)
    heartbeat.unref()
    this.heartbeats.set(job.id, heartbeat)
  }

  private stopRenewing(job: ClaimedJob): void {
    clearInterval(this.heartbeats.get(job.id))
    this.heartbeats.delete(job.id)
  }

  /** Hands a job back untouched, so another worker takes it at once (stop). */
  private async giveBack(job: ClaimedJob): Promise<void> {
    this.stopRenewing(job)
    await this.deps.queue
      .release(job)
      .catch((err) => this.deps.log.warn({ err, jobId: job.id }, 'release failed'))
  }

  private launch(job: ClaimedJob): void {
    this.holding++
    let holds = true
    const freeSlot = (): boolean => {
      if (!holds) return false
      holds = false
      this.holding--
      return true
    }
    const yieldSlot = () => {
      if (freeSlot()) this.slotFreed()
    }
    const done = this.run(job, yieldSlot).finally(() => {
      this.running.delete(job.id)
      freeSlot()
      this.slotFreed()
    })
    this.running.set(job.id, { job, done })
  }

  private async run(job: ClaimedJob, yieldSlot: () => void): Promise<void> {
    const { queue, log } = this.deps
    try {
      const handler = this.deps.jobHandlers.get(job.kind)
      if (!handler) throw new PermanentJobError(`No handler for job kind '${job.kind}'`)
      let completed = false
      await handler(job.payload, job, {
        complete: async (trx) => {
          await queue.complete(job, trx)
          completed = true
        },
        completeWithin: () => {
          completed = true
          return job.id
        },
        yieldSlot,
      })
      this.stopRenewing(job)
      // A handler that completed the job in its own transaction has committed that already.
      if (!completed) await queue.complete(job)
    } catch (err) {
      this.stopRenewing(job)
      // A worker that gave the job back at shutdown must not also retry or fail it.
      if (this.state === 'stopped') return
      await this.settleFailure(job, err).catch((e) => {
        log.error({ err: e, cause: err, jobId: job.id }, 'recording a job failure failed; trying again soon')
        this.settleLater(job, err)
      })
    } finally {
      this.stopRenewing(job)
    }
  }

  /**
   * Records a job's failure again and again after short delays (a full disk,
   * a database that went away) until it is written, so the job runs again
   * soon after the fault clears rather than once its lease runs out; past
   * the lease, another claim has it anyway.
   */
  private settleLater(job: ClaimedJob, err: unknown): void {
    const giveUpAt = Date.now() + this.opts.leaseMs / 2
    const attempt = (delay: number) => {
      const timer = setTimeout(() => {
        this.settling.delete(timer)
        if (this.state === 'stopped' || Date.now() > giveUpAt) return
        this.settleFailure(job, err).then(
          () => this.deps.log.info({ jobId: job.id, kind: job.kind }, 'job failure recorded'),
          () => attempt(Math.min(delay * 2, MAX_SETTLE_DELAY_MS)),
        )
      }, delay)
      timer.unref()
      this.settling.add(timer)
    }
    attempt(FIRST_SETTLE_DELAY_MS)
  }

  private async settleFailure(job: ClaimedJob, err: unknown): Promise<void> {
    const { queue, log } = this.deps
    const reason = describe(err)
    if (err instanceof PermanentJobError || job.attempts >= this.opts.maxAttempts) {
      log.warn({ jobId: job.id, kind: job.kind, attempts: job.attempts, reason }, 'job failed')
      await this.deps.jobFailureHooks?.get(job.kind)?.(job.payload, reason)
      await queue.fail(job, reason)
      return
    }
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (job.attempts - 1))
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2))
    log.info(
      { jobId: job.id, kind: job.kind, attempts: job.attempts, retryInMs: jittered, reason },
      'job will retry',
    )
    await queue.retry(job, reason, Date.now() + jittered)
  }
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return (message.trim() || 'Unknown error').slice(0, MAX_REASON)
}
