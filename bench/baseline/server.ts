/**
 * The independent baseline: node:http and the database driver over tables of
 * its own (schema.ts), its own SQL (queries.ts) and its own JSON, stored as
 * text a row. It imports nothing from src/: it measures what the bench's reads
 * cost when the data's layout and the SQL are the least a correct answer
 * needs, with no framework, no validation beyond what the answer needs, and
 * no auth: the caller's scope is which of the two bench tokens it sends (a
 * string compare, not a lookup). It answers the requests the bench sends
 * (bench/reads.ts) as Pictura does, with cursors of its own (cursor.ts).
 *
 * Env: DATABASE_URL (sqlite:<file> | postgres://…), HOST, PORT, PUBLIC_URL,
 * BASELINE_ADMIN_TOKEN, BASELINE_MEMBER_TOKEN, BASELINE_MEMBER_SCOPE (the
 * member's workspace ids, comma-separated).
 */
import { createServer, type IncomingMessage } from 'node:http'
import { decodeCursor, encodeCursor } from './cursor.js'
import { connect, type Row } from './db.js'
import { BY_FILE, BY_ID, idsStatement, listParams, listStatements, type Scope } from './queries.js'

const env = process.env
const run = connect(env.DATABASE_URL ?? '')
const adminAuth = `Bearer ${env.BASELINE_ADMIN_TOKEN}`
const memberAuth = `Bearer ${env.BASELINE_MEMBER_TOKEN}`
const memberScope = (env.BASELINE_MEMBER_SCOPE ?? '').split(',').filter(Boolean)
/** PUBLIC_URL as the inside of a JSON string, escaped once. */
const urlBase = JSON.stringify(env.PUBLIC_URL ?? 'http://127.0.0.1:8787').slice(1, -1)
const MAX_LIMIT = 100
const MAX_IDS = 100

/**
 * The stored JSON with PUBLIC_URL spliced into its `url` (stored as the path
 * alone). `url` is the last key but one, so the search from the end is short;
 * no EXIF text can hold the match (its quotes are escaped).
 */
function withUrl(json: string): string {
  const at = json.lastIndexOf('"url":"') + 7
  return json.slice(0, at) + urlBase + json.slice(at)
}

type Answer = [status: number, body: string]

const error = (status: number, code: string, message: string): Answer => [
  status,
  JSON.stringify({ error: { code, message } }),
]
const imageNotFound = error(404, 'not_found', 'Image not found')

function pageAnswer(rows: Row[], total: number, hasNextPage: boolean, hasPreviousPage: boolean): Answer {
  const first = rows[0]
  const last = rows[rows.length - 1]
  const pageInfo = {
    total,
    hasNextPage,
    hasPreviousPage,
    startCursor: first ? encodeCursor(first.id as string) : null,
    endCursor: last ? encodeCursor(last.id as string) : null,
  }
  return [
    200,
    `{"data":[${rows.map((r) => withUrl(r.json as string)).join(',')}],"pageInfo":${JSON.stringify(pageInfo)}}`,
  ]
}

/** Newest first, after the cursor's row (`key`) when there is one. */
async function keysetPage(scope: Scope, limit: number, key: string | undefined): Promise<Answer> {
  const statements = listStatements(scope?.length ?? null, key !== undefined)
  const params = listParams(scope, key, limit + 1)
  const rows = await run(statements.page, params.page)
  const carried = rows[0] ?? (await run(statements.info, params.info))[0]!
  const more = rows.length > limit
  return pageAnswer(
    more ? rows.slice(0, limit) : rows,
    Number(carried.total),
    more,
    Number(carried.newer) === 1,
  )
}

/** At most 100 point lookups: the total is how many of them the scope sees. */
async function idsPage(scope: Scope, list: string, limit: number, key: string | undefined): Promise<Answer> {
  const ids = [...new Set(list.split(',').map((s) => s.trim()))].filter(Boolean)
  if (ids.length > MAX_IDS) return error(400, 'invalid', `At most ${MAX_IDS} ids may be given`)
  const rows = ids.length === 0 ? [] : await run(idsStatement(ids.length), ids)
  const seen = scope === null ? rows : rows.filter((r) => scope.includes(r.workspace_id as string))
  const page = key === undefined ? seen : seen.filter((r) => (r.id as string) < key)
  const newer = key !== undefined && seen.some((r) => (r.id as string) >= key)
  return pageAnswer(page.slice(0, limit), seen.length, page.length > limit, newer)
}

function list(admin: boolean, query: URLSearchParams): Promise<Answer> | Answer {
  const workspaceId = query.get('workspace_id')
  if (workspaceId !== null && !admin && !memberScope.includes(workspaceId))
    return error(404, 'not_found', 'Workspace not found')
  const scope = workspaceId !== null ? [workspaceId] : admin ? null : memberScope
  const limit = Number(query.get('limit') ?? MAX_LIMIT)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return error(400, 'invalid', `limit: 1 to ${MAX_LIMIT}`)
  // The bench walks forward only; `before` is left out rather than answered differently from Pictura.
  if (query.has('before')) return error(400, 'invalid', 'before: not supported by the baseline')
  const after = query.get('after')
  const key = after === null ? undefined : decodeCursor(after)
  if (scope?.length === 0) return pageAnswer([], 0, false, false)
  const ids = query.get('ids')
  return ids === null ? keysetPage(scope, limit, key) : idsPage(scope, ids, limit, key)
}

async function single(admin: boolean, sql: string, id: string): Promise<Answer> {
  const [row] = await run(sql, [id])
  // Another workspace's image answers as a missing one, as in Pictura.
  if (!row || !(admin || memberScope.includes(row.workspace_id as string))) return imageNotFound
  return [200, withUrl(row.json as string)]
}

const SINGLE = /^\/api\/images\/(by-file\/)?([^/]+)$/

function answer(req: IncomingMessage): Promise<Answer> | Answer {
  const auth = req.headers.authorization
  if (auth !== adminAuth && auth !== memberAuth) return error(401, 'unauthorized', 'Missing or invalid token')
  const admin = auth === adminAuth
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  if (req.method === 'GET' && path === '/api/images')
    return list(admin, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)))
  const m = req.method === 'GET' ? SINGLE.exec(path) : null
  if (m) return single(admin, m[1] ? BY_FILE : BY_ID, decodeURIComponent(m[2]!))
  return error(404, 'not_found', 'Route not found')
}

const server = createServer((req, res) => {
  const send = ([status, body]: Answer) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  }
  Promise.resolve()
    .then(() => answer(req))
    .then(send, (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
      send(error(500, 'internal', 'Internal error'))
    })
})
const host = env.HOST ?? '127.0.0.1'
server.listen(Number(env.PORT ?? 0), host, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.stdout.write(`baseline listening on http://${host}:${port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
