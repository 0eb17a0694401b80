/**
 * Reads kept in process memory for as long as the database is unchanged: any
 * write, by this process or another on the same database, empties the cache
 * (DatabaseHandle.version), so a revoked token or a removed member is refused
 * on the very next request. Where the database cannot tell cheaply that it
 * changed (version() is null: PostgreSQL) every read goes to the database.
 * Callers share one cache and keep their keys apart with a prefix.
 */
export class ReadCache {
  private readonly entries = new Map<string, unknown>()
  private seen: string | null = null

  constructor(
    private readonly version: () => string | null,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value of `key`, or `load()`'s, kept only if nothing was written while it loaded. */
  async through<V>(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const before = this.version()
    if (before === null) return load()
    if (before !== this.seen) {
      this.entries.clear()
      this.seen = before
    }
    const hit = this.entries.get(key) as V | undefined
    if (hit !== undefined) return hit
    const value = await load()
    // Absent rows are not kept: unknown tokens sent at random must not evict the known ones.
    if (value !== undefined && this.version() === before) {
      if (this.entries.size >= this.maxEntries) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }
}
