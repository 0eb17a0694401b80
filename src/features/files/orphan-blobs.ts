import type { BlobEntry, BlobStore } from '../../platform/blob-store/blob-store.js'
import type { Db } from '../../platform/db/database.js'
import { isId } from '../../shared/ids.js'
import type { Logger } from '../../shared/logger.js'

export interface OrphanBlobsDeps {
  db: Db
  blobs: BlobStore
  log: Logger
  /**
   * The crash window: a blob younger than this is spared, as its upload may
   * be about to commit its row (ORPHAN_BLOB_AGE_MS).
   */
  minAgeMs: number
  /** Report what would go, remove nothing. */
  dryRun?: boolean
  now?: () => number
}

export interface OrphanBlobsResult {
  /** Blobs the store listed. */
  scanned: number
  /** Blobs whose file row exists. */
  live: number
  /** Keys not of the form `<workspace id>/<file id>`: never touched. */
  foreign: number
  /** Orphans younger than the crash window. */
  spared: number
  /** Orphans removed (or, on a dry run, that would be). */
  removed: number
  /** Removals that failed; the next sweep tries again. */
  failed: number
}

const BATCH = 500

/**
 * Removes blobs that no file row names: the bytes of an upload whose row
 * never committed because the process died between the two (an upload that
 * fails otherwise deletes its own blob). The listing streams; rows are
 * looked up a batch at a time, by file id (the key's last segment), right
 * before the removal.
 */
export async function sweepOrphanBlobs(deps: OrphanBlobsDeps): Promise<OrphanBlobsResult> {
  const result: OrphanBlobsResult = { scanned: 0, live: 0, foreign: 0, spared: 0, removed: 0, failed: 0 }
  const cutoff = (deps.now?.() ?? Date.now()) - deps.minAgeMs
  let batch: { entry: BlobEntry; fileId: string }[] = []
  const settle = async () => {
    await removeOrphans(deps, batch, result)
    batch = []
  }
  for await (const entry of deps.blobs.list()) {
    result.scanned++
    const fileId = fileIdOf(entry.key)
    if (fileId === null) result.foreign++
    else if (entry.modifiedAt > cutoff) result.spared++
    else batch.push({ entry, fileId })
    if (batch.length >= BATCH) await settle()
  }
  await settle()
  if (result.removed > 0 || result.failed > 0 || deps.dryRun)
    deps.log.info({ ...result, dryRun: deps.dryRun === true }, 'orphan blobs swept')
  return result
}

/** `<workspace id>/<file id>`, as FilesService.upload names blobs; null for any other key. */
function fileIdOf(key: string): string | null {
  const parts = key.split('/')
  return parts.length === 2 && isId('ws', parts[0]!) && isId('fil', parts[1]!) ? parts[1]! : null
}

async function removeOrphans(
  deps: OrphanBlobsDeps,
  batch: { entry: BlobEntry; fileId: string }[],
  result: OrphanBlobsResult,
): Promise<void> {
  if (batch.length === 0) return
  const rows = await deps.db
    .selectFrom('files')
    .select('blob_key')
    .where(
      'id',
      'in',
      batch.map((b) => b.fileId),
    )
    .execute()
  const live = new Set(rows.map((r) => r.blob_key))
  for (const { entry } of batch) {
    if (live.has(entry.key)) {
      result.live++
      continue
    }
    if (deps.dryRun) {
      deps.log.info({ key: entry.key }, 'sweep: would remove orphan blob')
      result.removed++
      continue
    }
    try {
      await deps.blobs.delete(entry.key)
      deps.log.info(
        { key: entry.key, modifiedAt: new Date(entry.modifiedAt).toISOString() },
        'removed orphan blob',
      )
      result.removed++
    } catch (err) {
      deps.log.warn({ key: entry.key, err }, 'could not remove orphan blob')
      result.failed++
    }
  }
}

export function describeBlobSweep(r: OrphanBlobsResult, dryRun: boolean): string {
  return [
    `Swept ${r.scanned} blobs: ${r.live} with their file, ${r.foreign} not ours (left alone),`,
    `${r.spared} without a file but within the crash window (spared),`,
    `${dryRun ? 'would remove' : 'removed'} ${r.removed} orphans${r.failed ? `, ${r.failed} removals failed (run again)` : ''}.`,
  ].join(' ')
}
