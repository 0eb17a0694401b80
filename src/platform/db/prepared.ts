import type { Compilable, CompiledQuery } from 'kysely'
import { directReadOf } from './database.js'
import type { Executor } from './executor.js'

/**
 * A query built and compiled once per dialect, then run with fresh
 * parameters. On the hottest reads (an image by id) building and compiling a
 * Kysely query costs more than the indexed lookup itself. `build` receives
 * `sentinels` in place of the real arguments; the compiled parameters must be
 * exactly those, in that order, so each call can swap in its own. Outside a
 * transaction the statement skips Kysely's executor too (DirectRead): only
 * for reads.
 */
export function prepared<R, A extends readonly string[]>(
  build: (db: Executor, ...args: A) => Compilable<R>,
  ...sentinels: NoInfer<A>
): (db: Executor, ...args: A) => Promise<R[]> {
  // Keyed by the dialect's adapter, which a database and its transactions share.
  const compiled = new WeakMap<object, CompiledQuery<R>>()
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter
    let query = compiled.get(adapter)
    if (!query) {
      query = build(db, ...sentinels).compile()
      if (query.query.kind !== 'SelectQueryNode') throw new Error(`prepared: only reads: ${query.sql}`)
      if (
        query.parameters.length !== sentinels.length ||
        query.parameters.some((p, i) => p !== sentinels[i])
      ) {
        throw new Error(`prepared: the query's parameters are not its arguments in order: ${query.sql}`)
      }
      compiled.set(adapter, query)
    }
    const direct = directReadOf(db)
    if (direct) return (await direct(query.sql, args)) as R[]
    return (await db.executeQuery<R>({ ...query, parameters: args })).rows
  }
}
