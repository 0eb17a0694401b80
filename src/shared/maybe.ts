/**
 * A value that may already be there. SQLite's driver answers synchronously:
 * a single read served from it and from the read cache (see ReadCache) is
 * complete at once, while on PostgreSQL it waits for the server. Each `await`
 * costs a microtask hop even on a value that is there; `chain` costs nothing
 * then, so the hottest reads pass through without a promise on SQLite. Errors
 * are thrown at once or rejected, accordingly: callers that await treat both alike.
 */
export type Maybe<T> = T | Promise<T>

/** `next(value)`, at once when the value is there, else once it settles. */
export function chain<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
