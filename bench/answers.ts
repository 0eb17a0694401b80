/**
 * Before any load, every request the bench will send, asked of Pictura and of
 * the independent baseline, both answers parsed and compared: the same status,
 * the same images in the same order (each as parsed, keys in order), the same
 * total and flags. Cursors differ by design (Pictura signs its own), so each
 * side's cursors are decoded with that side's codec and must name the first
 * and last rows of its page. Ratios of servers that answered differently are void.
 */
import type { Server } from './processes.js'

/** A request to both servers: the paths differ where a cursor is in them. */
export interface Exchange {
  token: string
  pictura: string
  baseline: string
}

/** Each side's cursor decoder: the row id a cursor names. */
export interface CursorKeys {
  pictura: (cursor: string) => string
  baseline: (cursor: string) => string
}

interface Reply {
  status: number
  body: string
}

async function ask(server: Server, token: string, path: string): Promise<Reply> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.text() }
}

interface PageJson {
  data: { id: string }[]
  pageInfo: Record<string, unknown>
}

const isPage = (value: unknown): value is PageJson =>
  typeof value === 'object' && value !== null && 'data' in value && 'pageInfo' in value

/** Whether a cursor names the row it should (null exactly when there is no row). */
function cursorProblem(
  side: string,
  cursor: unknown,
  row: { id: string } | undefined,
  key: (c: string) => string,
) {
  if (row === undefined) return cursor === null ? undefined : `${side} cursor ${cursor} on an empty page`
  if (typeof cursor !== 'string') return `${side} cursor missing`
  try {
    const id = key(cursor)
    return id === row.id ? undefined : `${side} cursor names ${id}, its row is ${row.id}`
  } catch {
    return `${side} cursor ${cursor} does not decode`
  }
}

/** Where two texts part, with a little of each from just before. */
function parting(p: string, b: string): string {
  let at = 0
  while (at < p.length && p[at] === b[at]) at++
  const from = Math.max(0, at - 20)
  return `at ${at}: Pictura …${p.slice(from, at + 60)}… baseline …${b.slice(from, at + 60)}…`
}

/** Why the two answers differ, or undefined when they agree. */
function difference(p: Reply, b: Reply, keys: CursorKeys): string | undefined {
  if (p.status !== b.status) return `status ${p.status} (Pictura) vs ${b.status} (baseline)`
  let pj: unknown
  let bj: unknown
  try {
    pj = JSON.parse(p.body)
    bj = JSON.parse(b.body)
  } catch {
    return 'an answer is not JSON'
  }
  // A single image (or an error): the whole answer, as parsed.
  if (!isPage(pj) || !isPage(bj)) {
    const [ps, bs] = [JSON.stringify(pj), JSON.stringify(bj)]
    return ps === bs ? undefined : parting(ps, bs)
  }
  const n = Math.max(pj.data.length, bj.data.length)
  for (let i = 0; i < n; i++) {
    const [pi, bi] = [JSON.stringify(pj.data[i]) ?? 'none', JSON.stringify(bj.data[i]) ?? 'none']
    if (pi !== bi) return `data[${i}] ${parting(pi, bi)}`
  }
  for (const flag of ['total', 'hasNextPage', 'hasPreviousPage'])
    if (pj.pageInfo[flag] !== bj.pageInfo[flag])
      return `${flag}: Pictura ${pj.pageInfo[flag]}, baseline ${bj.pageInfo[flag]}`
  const ends = (page: PageJson, side: keyof CursorKeys) => [
    cursorProblem(side, page.pageInfo.startCursor, page.data[0], keys[side]),
    cursorProblem(side, page.pageInfo.endCursor, page.data[page.data.length - 1], keys[side]),
  ]
  return [...ends(pj, 'pictura'), ...ends(bj, 'baseline')].find((x) => x !== undefined)
}

/**
 * Compares the answers to every exchange; returns what differs (the first
 * difference of each differing exchange, with its Pictura path). Throws when
 * Pictura fails a request: the bench's requests must succeed.
 */
export async function compareAnswers(
  servers: { pictura: Server; baseline: Server },
  exchanges: Exchange[],
  keys: CursorKeys,
): Promise<string[]> {
  const found: string[] = []
  for (const x of exchanges) {
    const [p, b] = await Promise.all([
      ask(servers.pictura, x.token, x.pictura),
      ask(servers.baseline, x.token, x.baseline),
    ])
    if (p.status !== 200)
      throw new Error(`${x.pictura}: Pictura answered ${p.status} ${p.body.slice(0, 300)}`)
    const diff = difference(p, b, keys)
    if (diff) found.push(`${x.pictura}: ${diff}`)
  }
  return found
}
