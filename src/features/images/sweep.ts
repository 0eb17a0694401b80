import type { Db } from '../../platform/db/database.js'
import type { ImageProvider, ProviderCopy } from '../../platform/image-provider/image-provider.js'
import type { Logger } from '../../shared/logger.js'

export interface SweepDeps {
  db: Db
  provider: ImageProvider
  log: Logger
  /**
   * Copies younger than this are spared: a provisioning job commits its row
   * just after its upload, and a sweep must not race it. Default one hour.
   */
  minAgeMs?: number
  /** Report what would go, remove nothing. */
  dryRun?: boolean
  now?: () => number
}

export interface SweepResult {
  /** Copies the provider listed. */
  scanned: number
  /** Copies whose image row exists. */
  live: number
  /** Copies not made by this deployment (no verifiable image id): never touched. */
  foreign: number
  /** Orphans spared because they are recent or their file is still being provisioned. */
  spared: number
  /** Orphans removed (or, on a dry run, that would be). */
  removed: number
  /** Removals that failed; the next sweep tries again. */
  failed: number
}

const BATCH = 500

/**
 * Removes provider copies that lost their image row (a delete whose provider
 * clean-up never ran, a job that crashed between its upload and its commit and
 * then provisioned another image). Rows are checked right before removal, not
 * while the (possibly long) listing runs.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  const result: SweepResult = { scanned: 0, live: 0, foreign: 0, spared: 0, removed: 0, failed: 0 }
  if (!deps.provider.list) {
    deps.log.info({ provider: deps.provider.name }, 'sweep: this provider keeps no copies of its own')
    return result
  }
  const now = deps.now?.() ?? Date.now()
  const minAgeMs = deps.minAgeMs ?? 60 * 60 * 1000
  const candidates: ProviderCopy[] = []
  for await (const copy of deps.provider.list()) {
    result.scanned++
    if (copy.imageId === null) result.foreign++
    else candidates.push(copy)
  }

  for (let i = 0; i < candidates.length; i += BATCH) {
    const batch = candidates.slice(i, i + BATCH)
    const live = await liveCopies(deps.db, batch)
    const pending = await pendingFiles(deps.db, batch)
    for (const copy of batch) {
      if (live.has(copy.cfImageId)) {
        result.live++
        continue
      }
      const uploadedAt = copy.uploadedAt ? Date.parse(copy.uploadedAt) : Number.NaN
      // No upload time is treated as recent: sparing a copy costs storage, removing a live one breaks URLs.
      const recent = Number.isNaN(uploadedAt) || now - uploadedAt < minAgeMs
      if (recent || (copy.fileId && pending.has(copy.fileId))) {
        result.spared++
        continue
      }
      if (deps.dryRun) {
        deps.log.info({ cfImageId: copy.cfImageId, imageId: copy.imageId }, 'sweep: would remove orphan copy')
        result.removed++
        continue
      }
      try {
        await deps.provider.delete(copy.cfImageId)
        deps.log.info({ cfImageId: copy.cfImageId, imageId: copy.imageId }, 'sweep: removed orphan copy')
        result.removed++
      } catch (err) {
        deps.log.warn({ cfImageId: copy.cfImageId, err }, 'sweep: could not remove orphan copy')
        result.failed++
      }
    }
  }
  deps.log.info({ ...result, dryRun: deps.dryRun === true }, 'sweep done')
  return result
}

async function liveCopies(db: Db, batch: ProviderCopy[]): Promise<Set<string>> {
  const rows = await db
    .selectFrom('images')
    .select('cf_image_id')
    .where(
      'cf_image_id',
      'in',
      batch.map((c) => c.cfImageId),
    )
    .execute()
  return new Set(rows.map((r) => r.cf_image_id))
}

/** Files still waiting for provisioning: their job may be about to commit a row for one of these copies. */
async function pendingFiles(db: Db, batch: ProviderCopy[]): Promise<Set<string>> {
  const fileIds = batch.map((c) => c.fileId).filter((id): id is string => typeof id === 'string')
  if (fileIds.length === 0) return new Set()
  const rows = await db
    .selectFrom('files')
    .select('id')
    .where('id', 'in', fileIds)
    .where('image_status', '=', 'pending')
    .execute()
  return new Set(rows.map((r) => r.id))
}

export interface SweepOptions {
  dryRun: boolean
  minAgeMs: number
  /** `--min-age-minutes` was given: it applies to orphan blobs too (else ORPHAN_BLOB_AGE_MS). */
  minAgeGiven: boolean
}

/** `pictura sweep [--dry-run] [--min-age-minutes=N]`; throws with the usage on anything else. */
export function parseSweepArgs(args: string[]): SweepOptions {
  const options: SweepOptions = { dryRun: false, minAgeMs: 60 * 60 * 1000, minAgeGiven: false }
  for (const arg of args) {
    const minutes = /^--min-age-minutes=(\d{1,7})$/.exec(arg)
    if (arg === '--dry-run') options.dryRun = true
    else if (minutes) {
      options.minAgeMs = Number(minutes[1]) * 60_000
      options.minAgeGiven = true
    } else throw new Error(`unknown option ${arg}\nUsage: pictura sweep [--dry-run] [--min-age-minutes=60]`)
  }
  return options
}

export function describeSweep(r: SweepResult, options: SweepOptions): string {
  const verb = options.dryRun ? 'would remove' : 'removed'
  return [
    `Swept ${r.scanned} provider copies: ${r.live} live, ${r.foreign} not ours (left alone),`,
    `${r.spared} orphans spared (younger than ${options.minAgeMs / 60_000} min or still provisioning),`,
    `${verb} ${r.removed} orphans${r.failed ? `, ${r.failed} removals failed (run again)` : ''}.`,
  ].join(' ')
}
