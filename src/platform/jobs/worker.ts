import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from '../../shared/logger.js'
import { type ClaimedJob, type JobHandler, type JobQueue, PermanentJobError } from './job-queue.js'

/** Runs when a job ends `failed` for good, so the row waiting on it can say why (a file's `image.error`). */
export type JobFailureHook = (payload: Record<string, unknown>, reason: string) => Promise<void>

export interface WorkerDeps {
  queue: JobQueue & { onEnqueue?(listener: () => void): () => void }
  jobHandlers: ReadonlyMap<string, JobHandler>
  jobFailureHooks?: ReadonlyMap<string, JobFailureHook>
  log: Logger
}

export interface WorkerOptions {
  /** Jobs run at once (default 2). */
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

/**
 * Claims due jobs from the queue and runs their handlers with bounded
 * concurrency. Ordinary errors retry with exponential backoff and jitter;
 * a PermanentJobError, an unknown kind or the last attempt fail the job at
 * once, after the kind's failure hook has recorded the reason. A crash loses
 * nothing: a claim is a lease, renewed while the handler runs, so a dead
 * worker's jobs become due again soon after it stops renewing them.
 */
export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly running = new Map<string, { job: ClaimedJob; done: Promise<void> }>()
  private readonly opts: Required<WorkerOptions>
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle'
  private claiming = false
  private again = false
  private timer: NodeJS.Timeout | null = null
  private unsubscribe: (() => void) | null = null

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
    if (this.timer) clearTimeout(this.timer)
    let timeout: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timeout = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), waited])
    clearTimeout(timeout)
    for (const { job } of this.running.values()) {
      await this.deps.queue
        .release(job)
        .catch((err) => this.deps.log.warn({ err, jobId: job.id }, 'release failed'))
    }
    this.running.clear()
    this.state = 'stopped'
  }

  /**
   * The queue tells us right after the INSERT; the enqueuing transaction may
   * commit a little later (a PostgreSQL round trip), so look again shortly.
   */
  private onEnqueue(): void {
    this.poke()
    for (const delay of [20, 80]) setTimeout(() => this.poke(), delay).unref()
  }

  /** Claims as many jobs as there are free slots; called on start, enqueue, job end and by the poll timer. */
  private poke(): void {
    if (this.state !== 'running') return
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
        const free = this.opts.concurrency - this.running.size
        if (free <= 0 || this.state !== 'running') break
        const jobs = await this.deps.queue.claim(this.id, free, this.opts.leaseMs)
        for (const job of jobs) this.launch(job)
        // A full batch suggests more are due: claim again instead of waiting for the poll.
        if (jobs.length === free) this.again = true
      } while (this.again)
    } catch (err) {
      this.deps.log.error({ err }, 'claiming jobs failed')
      retryIn = Math.max(this.opts.pollMs, 1_000)
    } finally {
      this.claiming = false
    }
    if (this.state === 'running' && this.running.size < this.opts.concurrency) {
      this.timer = setTimeout(() => this.poke(), retryIn)
      this.timer.unref()
    }
  }

  private launch(job: ClaimedJob): void {
    const done = this.run(job).finally(() => {
      this.running.delete(job.id)
      this.poke()
    })
    this.running.set(job.id, { job, done })
  }

  private async run(job: ClaimedJob): Promise<void> {
    const { queue, log } = this.deps
    const heartbeat = setInterval(() => {
      queue
        .extend(job, this.id, this.opts.leaseMs)
        .then((held) => {
          if (!held) log.warn({ jobId: job.id, kind: job.kind }, 'lost the lease of a running job')
        })
        .catch((err) => log.warn({ err, jobId: job.id }, 'lease renewal failed'))
    }, this.opts.leaseMs / 3)
    heartbeat.unref()
    try {
      const handler = this.deps.jobHandlers.get(job.kind)
      if (!handler) throw new PermanentJobError(`No handler for job kind '${job.kind}'`)
      let completed = false
      await handler(job.payload, job, {
        complete: async (trx) => {
          await queue.complete(job, trx)
          completed = true
        },
      })
      clearInterval(heartbeat)
      // A handler that completed the job in its own transaction has committed that already.
      if (!completed) await queue.complete(job)
    } catch (err) {
      clearInterval(heartbeat)
      // A worker that gave the job back at shutdown must not also retry or fail it.
      if (this.state === 'stopped') return
      await this.settleFailure(job, err).catch((e) =>
        log.error({ err: e, jobId: job.id }, 'recording a job failure failed; the lease will bring it back'),
      )
    } finally {
      clearInterval(heartbeat)
    }
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
