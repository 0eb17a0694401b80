import type { Compilable, CompiledQuery } from 'kysely'
import { directReadOf } from './database.js'
import type { Executor } from './executor.js'

/**
 * A read whose SQL is built and compiled once per shape of its arguments, then
 * run with fresh parameters. On the hot reads (an image by id, a page of a
 * list) building and compiling a Kysely query costs more than the indexed
 * lookup itself.
 *
 * The shape of the arguments is what the SQL may depend on: which are
 * undefined or null, array lengths, object keys and booleans. Strings and
 * numbers are values: `build` receives placeholders in their place, so it may
 * test whether one is there but must pass it to the query as it is (no
 * arithmetic, no branching on its content). Each compiled parameter that is a
 * placeholder is filled from the call's arguments; any other is a constant of
 * the query. A builder that breaks the rule fails loudly when it is compiled:
 * a value it altered, or one it never bound (a branch on a string's content
 * sees a placeholder, takes the wrong way and drops what it would have bound,
 * a tenant filter say), is an error, never a query. Outside a transaction the
 * statement skips Kysely's executor too (DirectRead).
 */
export function prepared<A extends unknown[], R>(
  build: (db: Executor, ...args: A) => Compilable<R>,
): (db: Executor, ...args: A) => Promise<R[]> {
  // Keyed by the dialect's adapter, which a database and its transactions share; then by shape.
  const compiled = new WeakMap<object, Map<string, Statement<R>>>()
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter
    let shapes = compiled.get(adapter)
    if (!shapes) {
      shapes = new Map()
      compiled.set(adapter, shapes)
    }
    const values: unknown[] = []
    const shape = shapeOf(args, values)
    let statement = shapes.get(shape)
    if (!statement) {
      // `in` lists of every length make many shapes: start over rather than grow without bound.
      if (shapes.size >= MAX_SHAPES) shapes.clear()
      statement = compile(db, build, args)
      shapes.set(shape, statement)
    }
    const parameters = statement.slots.map((slot) => (slot.value ? slot.constant : values[slot.index]))
    const direct = directReadOf(db)
    if (direct) return direct(statement.query.sql, parameters) as R[]
    return (await db.executeQuery<R>({ ...statement.query, parameters })).rows
  }
}

const MAX_SHAPES = 500
const PLACEHOLDER = '\u0000prepared:'

type Slot = { value: false; index: number } | { value: true; constant: unknown }

interface Statement<R> {
  query: CompiledQuery<R>
  slots: Slot[]
}

/** The shape of `value` as a string; its strings and numbers are pushed onto `values`, in order. */
function shapeOf(value: unknown, values: unknown[]): string {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
      values.push(value)
      return 'v'
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      return 'u'
  }
  if (value === null) return 'n'
  if (Array.isArray(value)) {
    let s = '['
    for (const item of value) s += shapeOf(item, values)
    return `${s}]`
  }
  if (typeof value === 'object') {
    let s = '{'
    for (const key in value) s += `${key}:${shapeOf((value as Record<string, unknown>)[key], values)},`
    return `${s}}`
  }
  throw new Error(`prepared: cannot take a ${typeof value} as an argument`)
}

/** The same structure with each string or number replaced by a numbered placeholder. */
function placeholders(value: unknown, next: { i: number }): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
      return `${PLACEHOLDER}${next.i++}`
  }
  if (Array.isArray(value)) return value.map((item) => placeholders(item, next))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeholders(v, next)]))
  }
  return value
}

function compile<A extends unknown[], R>(
  db: Executor,
  build: (db: Executor, ...args: A) => Compilable<R>,
  args: A,
): Statement<R> {
  const count = { i: 0 }
  const query = build(db, ...(placeholders(args, count) as A)).compile()
  if (query.query.kind !== 'SelectQueryNode') throw new Error(`prepared: only reads: ${query.sql}`)
  const slots = query.parameters.map((p): Slot => {
    if (typeof p !== 'string' || !p.startsWith(PLACEHOLDER)) return { value: true, constant: p }
    const index = Number(p.slice(PLACEHOLDER.length))
    // A placeholder changed on its way (concatenated, computed with) would bind a wrong value.
    if (!Number.isInteger(index) || `${PLACEHOLDER}${index}` !== p) {
      throw new Error(`prepared: an argument was altered, not passed as it is: ${query.sql}`)
    }
    return { value: false, index }
  })
  const bound = new Set(slots.flatMap((s) => (s.value ? [] : [s.index])))
  if (bound.size !== count.i) {
    throw new Error(
      `prepared: ${count.i - bound.size} argument(s) never bound (a branch on a value?): ${query.sql}`,
    )
  }
  return { query, slots }
}
