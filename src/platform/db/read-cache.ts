import type { Maybe } from '../../shared/maybe.js'

/**
 * The tables whose rows the cache keeps (tokens, their users, roles and
 * workspaces): only a write to one of them moves DatabaseHandle.version. The
 * read-version migration names the same tables for its PostgreSQL triggers.
 */
export const CACHED_TABLES = ['users', 'tokens', 'workspaces', 'members'] as const

/**
 * Reads kept in process memory for as long as what they read is unchanged:
 * any write to CACHED_TABLES, by this process or another on the same
 * database, empties the cache (DatabaseHandle.version), so a revoked token or
 * a removed member is refused by every request that starts after the
 * revocation committed. Without a version (null) every read goes to the
 * database. Callers share one cache and keep their keys apart with a prefix.
 */
export class ReadCache {
  private readonly entries = new Map<string, unknown>()
  private seen: string | null = null
  /** The snapshot of `seen`, shared by every request that starts while the version stays. */
  private current: CachedReads | undefined

  constructor(
    private readonly version: () => string | null | Promise<string | null>,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The cache as of now: one version check, taken when a request starts and
   * used for all of its lookups, so no entry older than the request's start
   * is ever served to it.
   */
  snapshot(): CachedReads | Promise<CachedReads> {
    const at = this.version()
    // SQLite answers at once: then so does the snapshot, and a request whose reads are all cached never waits.
    return typeof at === 'object' && at !== null ? at.then((v) => this.at(v)) : this.at(at)
  }

  private at(version: string | null): CachedReads {
    if (version === null) return this.readsAt(null)
    if (version !== this.seen || !this.current) {
      this.entries.clear()
      this.seen = version
      this.current = this.readsAt(version)
    }
    return this.current
  }

  private readsAt(version: string | null): CachedReads {
    return {
      through: (key, load) => this.through(version, key, load),
      peek: <V>(key: string) =>
        version !== null && this.seen === version ? (this.entries.get(key) as V | undefined) : undefined,
    }
  }

  private through<V>(
    at: string | null,
    key: string,
    load: () => Promise<V | undefined>,
  ): Maybe<V | undefined> {
    if (at === null) return load()
    // Entries belong to `seen`; once a later snapshot moved it on, this one reads the database.
    if (this.seen === at) {
      const hit = this.entries.get(key) as V | undefined
      if (hit !== undefined) return hit
    }
    return load().then((value) => {
      // Loaded after the snapshot, the value is at least as new as the version it is filed under; once a
      // newer snapshot moved `seen` on, it is not kept. Absent rows are not kept either: unknown tokens sent
      // at random must not evict the known ones.
      if (value !== undefined && this.seen === at) {
        if (this.entries.size >= this.maxEntries) this.entries.clear()
        this.entries.set(key, value)
      }
      return value
    })
  }
}

/** Lookups through a ReadCache snapshot; see ReadCache.snapshot. */
export interface CachedReads {
  /** The cached value of `key`, at once, or `load()`'s. */
  through<V>(key: string, load: () => Promise<V | undefined>): Maybe<V | undefined>
  /** The cached value of `key`, if there is one; never loads. */
  peek<V>(key: string): V | undefined
}
