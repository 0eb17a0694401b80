import { PostgresAdapter, sql } from 'kysely'
import type { Maybe } from '../../shared/maybe.js'
import type { Executor } from './executor.js'

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
  /** The same, tentative (see lastSnapshot). */
  private last: CachedReads | undefined

  constructor(
    private readonly version: () => string | null | Promise<string | null>,
    private readonly options: {
      /** The database's reads can carry the version (READ_VERSION), so lastSnapshot may be used. */
      confirmable?: boolean
      maxEntries?: number
    } = {},
  ) {}

  /**
   * The snapshot of the version last seen, without asking the database: a
   * request may start on it only if what it answers is confirmed by a read
   * that carries the version as of that read (READ_VERSION, then
   * CachedReads.confirm), so that it too answers as of a moment after it
   * started. Saves the version's round trip on PostgreSQL; undefined where
   * reads cannot carry the version, or nothing was seen yet.
   */
  lastSnapshot(): CachedReads | undefined {
    return this.options.confirmable ? this.last : undefined
  }

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
      this.last = this.tentative(this.current, version)
    }
    return this.current
  }

  private readsAt(version: string | null): CachedReads {
    return {
      through: (key, load) => this.through(version, key, load),
      peek: <V>(key: string) =>
        version !== null && this.seen === version ? (this.entries.get(key) as V | undefined) : undefined,
      confirm: () => {},
    }
  }

  private tentative(reads: CachedReads, version: string): CachedReads {
    return {
      ...reads,
      confirm: (carried) => {
        if (carried === undefined || carried === null || String(carried) !== version) throw new Unconfirmed()
      },
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
        if (this.entries.size >= (this.options.maxEntries ?? 10_000)) this.entries.clear()
        this.entries.set(key, value)
      }
      return value
    })
  }
}

/** Lookups through a ReadCache snapshot; see ReadCache.snapshot. */
export interface CachedReads {
  /**
   * Confirms a snapshot taken from lastSnapshot with the version a read
   * carried (its `read_version`); throws Unconfirmed when it differs or is
   * absent. Does nothing for a snapshot taken by asking the database.
   */
  confirm(carried: unknown): void
  /** The cached value of `key`, at once, or `load()`'s. */
  through<V>(key: string, load: () => Promise<V | undefined>): Maybe<V | undefined>
  /** The cached value of `key`, if there is one; never loads. */
  peek<V>(key: string): V | undefined
}

/** A tentative snapshot that its reads did not confirm: the request runs again on one asked of the database. */
export class Unconfirmed extends Error {
  constructor() {
    super('The read cache snapshot was not confirmed by the read')
  }
}

/**
 * The version as a column of a read, `read_version`, on PostgreSQL (one
 * index lookup in the same snapshot as the read; see ReadCache.lastSnapshot).
 * SQLite's reads carry none: its version is asked of the file at no round trip.
 */
export const READ_VERSION = sql<number | null>`(select version from read_version where id = 1)`.as(
  'read_version',
)

/** Whether reads on `db` carry READ_VERSION. */
export function carriesReadVersion(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter
}
