/**
 * Reads kept in process memory for as long as what they read is unchanged:
 * the rows every request reads before its handler runs (its token, the
 * user's role in a workspace, the workspaces it sees). Triggers on the tables
 * they come from move one counter, `read_version`, in the writing transaction
 * (migrations 20261127-read-version and 20261204-read-version-sqlite), and
 * each request starts with one look at it (DatabaseHandle.version): a revoked
 * token or a removed member is refused by every request that starts after the
 * revocation committed, on any node, while uploads and provisioning leave the
 * cache as it is. Without a version (null) every read goes to the database.
 * Callers share one cache and keep their keys apart with a prefix.
 *
 * Requests that start in the same event-loop turn share one look: it is sent
 * once they have all started (see `current`), so it is never older than any
 * of them. Under load a turn starts several requests and one statement
 * (SQLite's `pragma data_version`, a round trip on PostgreSQL) serves them all:
 * single reads 40-50% faster on both (see bench/RESULTS.md).
 */
export class ReadCache {
  private readonly entries = new Map<string, unknown>()
  private seen: string | null = null
  private asking: Promise<string | null> | undefined

  constructor(
    private readonly version: () => Promise<string | null>,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The cache as of now: one version check, taken after the request started
   * (shared with the requests of its turn, see `current`) and used for all of
   * its lookups, so no entry older than the request's start is ever served to it.
   */
  async snapshot(): Promise<CachedReads> {
    const at = await this.current()
    if (at !== this.seen) {
      this.entries.clear()
      this.seen = at
    }
    return { through: (key, load) => this.through(at, key, load) }
  }

  /**
   * The version as of a moment after every request that asked for it so far
   * in this turn: the look is sent from the next check phase (setImmediate),
   * after the turn's I/O callbacks, and a request that asks once it has been
   * sent waits for a look of its own.
   */
  private current(): Promise<string | null> {
    this.asking ??= new Promise((resolve, reject) =>
      setImmediate(() => {
        this.asking = undefined
        this.version().then(resolve, reject)
      }),
    )
    return this.asking
  }

  private async through<V>(at: string | null, key: string, load: () => Promise<V | undefined>) {
    if (at === null) return load()
    // Entries belong to `seen`; once a later snapshot moved it on, this one reads the database.
    if (this.seen === at) {
      const hit = this.entries.get(key) as V | undefined
      if (hit !== undefined) return hit
    }
    const value = await load()
    // Loaded after the snapshot, the value is at least as new as the version it is filed under; once a
    // newer snapshot moved `seen` on, it is not kept. Absent rows are not kept either: unknown tokens sent
    // at random must not evict the known ones.
    if (value !== undefined && this.seen === at) {
      if (this.entries.size >= this.maxEntries) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }
}

/** Lookups through a ReadCache snapshot: the cached value of `key`, or `load()`'s. */
export interface CachedReads {
  through<V>(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>
}
