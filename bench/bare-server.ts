/**
 * The bare baseline: node:http and the database driver, nothing else. It runs
 * the SQL that Pictura runs for the same request (recorded once per query
 * shape from Pictura's own repository and paginate(), so it follows them as
 * they change), as prepared statements, and writes the same JSON bytes; no
 * framework, no auth, no validation. The caller's scope comes from which of
 * the two bench tokens it sends (a string compare, not a lookup).
 *
 * Env: DATABASE_URL (sqlite:<file> | postgres://…), PORT, HOST, PUBLIC_URL,
 * BARE_ADMIN_TOKEN, BARE_MEMBER_SCOPE (the member's workspace ids, comma-separated).
 */
import { createHash } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import SQLite from 'better-sqlite3'
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'
import pg from 'pg'
import { ImagesRepository, imageList } from '../src/features/images/images.repository.js'
import { CursorCodec } from '../src/http/pagination.js'
import { paginate } from '../src/http/pagination.js'
import { rowReader } from '../src/platform/db/database.js'
import type { Database } from '../src/platform/db/tables.js'

const env = process.env
const databaseUrl = env.DATABASE_URL ?? ''
const isPg = databaseUrl.startsWith('postgres')
const publicUrl = env.PUBLIC_URL ?? 'http://127.0.0.1:8787'
const adminAuth = `Bearer ${env.BARE_ADMIN_TOKEN ?? ''}`
const memberScope = (env.BARE_MEMBER_SCOPE ?? '').split(',').filter(Boolean)

// The driver, with every statement prepared once (on SQLite, Pictura's own reader of them).

type Param = string | number | null
type Rows = Record<string, unknown>[]
let run: (sql: string, params: Param[]) => Promise<Rows> | Rows

if (isPg) {
  pg.types.setTypeParser(20, (value) => Number(value))
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 })
  const names = new Map<string, string>()
  run = async (text, values) => {
    let name = names.get(text)
    if (!name) {
      name = `b${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
      names.set(text, name)
    }
    return (await pool.query({ name, text, values })).rows as Rows
  }
} else {
  const sqlite = new SQLite(databaseUrl.replace(/^sqlite:/, ''))
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('busy_timeout = 10000')
  // Rows as Pictura reads them (arrays from the driver, objects built in JS): the same data path.
  const read = rowReader(sqlite)
  run = (sql, params) => read(sql, params) as Rows
}

// Recording Pictura's SQL: a Kysely whose driver keeps each compiled query and answers one dummy row.

const recorded: CompiledQuery[] = []
const connection: DatabaseConnection = {
  async executeQuery<R>(q: CompiledQuery) {
    recorded.push(q)
    return { rows: [{ n: 0, one: 1 }] as R[] }
  },
  // biome-ignore lint/correctness/useYield: never streamed
  async *streamQuery() {
    throw new Error('not recorded')
  },
}
const recorder: Driver = {
  init: async () => {},
  acquireConnection: async () => connection,
  beginTransaction: async () => {},
  commitTransaction: async () => {},
  rollbackTransaction: async () => {},
  releaseConnection: async () => {},
  destroy: async () => {},
}
const recDb = new Kysely<Database>({
  dialect: {
    createAdapter: () => (isPg ? new PostgresAdapter() : new SqliteAdapter()),
    createDriver: () => recorder,
    createIntrospector: (db) => (isPg ? new PostgresIntrospector(db) : new SqliteIntrospector(db)),
    createQueryCompiler: () => (isPg ? new PostgresQueryCompiler() : new SqliteQueryCompiler()),
  },
})
const repo = new ImagesRepository()

/** A recorded statement whose parameters are filled from the request: sentinels mark where each goes. */
interface Shaped {
  sql: string
  bind: (p: ListParams) => Param[]
}
interface ListParams {
  scope: readonly string[] | null
  ids?: readonly string[]
  key?: string
  limit: number
}
const S = '\u0001'
const LIMIT_SENTINEL = 997

function binder(params: readonly unknown[]): (p: ListParams) => Param[] {
  const parts = params.map((v): ((p: ListParams) => Param) => {
    if (typeof v === 'string' && v.startsWith(`${S}S`)) {
      const i = Number(v.slice(2))
      return (p) => p.scope![i]!
    }
    if (typeof v === 'string' && v.startsWith(`${S}I`)) {
      const i = Number(v.slice(2))
      return (p) => p.ids![i]!
    }
    if (v === `${S}K`) return (p) => p.key!
    if (v === LIMIT_SENTINEL + 1) return (p) => p.limit + 1
    if (v === LIMIT_SENTINEL + 2) return (p) => p.limit + 2
    return () => v as Param
  })
  return (p) => parts.map((f) => f(p))
}

const shapes = new Map<string, { page: Shaped; total: Shaped; beyond?: Shaped }>()
const codec = new CursorCodec(Buffer.alloc(32))

async function shapeOf(scopeLen: number | null, idsLen: number | null, dir: 'after' | 'before' | null) {
  const k = `${scopeLen}|${idsLen}|${dir}`
  let shape = shapes.get(k)
  if (shape) return shape
  const scope = scopeLen === null ? null : Array.from({ length: scopeLen }, (_, i) => `${S}S${i}`)
  const ids = idsLen === null ? undefined : Array.from({ length: idsLen }, (_, i) => `${S}I${i}`)
  recorded.length = 0
  await paginate(
    { list: 'images', limit: LIMIT_SENTINEL, ids, ...(dir ? { [dir]: `${S}K` } : {}) },
    {
      list: imageList,
      db: recDb,
      args: { scope, ids },
      keyOf: () => 'x',
      total: () => repo.total(recDb, { scope, ids }),
    },
    codec,
  )
  const find = (test: (q: CompiledQuery) => boolean): Shaped | undefined => {
    const q = recorded.find(test)
    return q && { sql: q.sql, bind: binder(q.parameters) }
  }
  // The page carries its total (a subquery); the total alone runs only for a page with no rows.
  const isPage = (q: CompiledQuery) => /order by/i.test(q.sql)
  const isTotal = (q: CompiledQuery) => !isPage(q) && /\b(count|sum)\(/i.test(q.sql)
  shape = {
    page: find(isPage)!,
    total: find(isTotal)!,
    beyond: find((q) => !isPage(q) && !isTotal(q)),
  }
  shapes.set(k, shape)
  return shape
}

async function single(which: 'id' | 'file') {
  recorded.length = 0
  if (which === 'id') await repo.findById(recDb, `${S}K`)
  else await repo.findByFileId(recDb, `${S}K`)
  return recorded[0]!.sql
}

// Serving

// JSON.stringify for every string: the plain way. Pictura's own serializer (imageJson) is one of the
// optimisations the baseline is measured without (see bench/RESULTS.md, item 29).
const q = JSON.stringify
const imageJson = (r: Record<string, unknown>) =>
  `{"id":${q(r.id)},"fileId":${q(r.file_id)},"workspaceId":${q(r.workspace_id)},"cfImageId":${q(r.cf_image_id)},"width":${r.width},"height":${r.height},"size":${r.size},"exif":${r.exif},"url":${q(`${publicUrl}/cdn/${r.cf_image_id}/public`)},"createdAt":${q(r.created_at)}}`

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

async function list(url: URL, admin: boolean, cursors: CursorCodec): Promise<string> {
  const sp = url.searchParams
  const ws = sp.get('workspace_id')
  const scope = ws ? [ws] : admin ? null : memberScope
  const idsParam = sp.get('ids')
  const ids = idsParam === null ? undefined : idsParam.split(',')
  const limit = Number(sp.get('limit') ?? 100)
  const after = sp.get('after')
  const before = sp.get('before')
  const dir = after ? 'after' : before ? 'before' : null
  const key = after ? cursors.decode('images', after) : before ? cursors.decode('images', before) : undefined
  const shape = await shapeOf(scope?.length ?? null, ids?.length ?? null, dir)
  const p: ListParams = { scope, ids, key, limit }
  const fetched = await run(shape.page.sql, shape.page.bind(p))
  const total =
    fetched.length > 0 ? fetched[0]!.page_total : (await run(shape.total.sql, shape.total.bind(p)))[0]?.n
  // As paginate(): the page includes the cursor's row, whose presence answers whether a page lies beyond.
  let rows = fetched
  let beyond = false
  if (dir) {
    if (rows[0]?.id === key) {
      beyond = true
      rows = rows.slice(1)
    } else {
      beyond = (await run(shape.beyond!.sql, shape.beyond!.bind(p))).length > 0
    }
  }
  const more = rows.length > limit
  if (more) rows = rows.slice(0, limit)
  if (dir === 'before') rows.reverse()
  const first = rows[0]
  const last = rows[rows.length - 1]
  const pageInfo = {
    total: Number(total ?? 0),
    hasNextPage: dir === 'before' ? beyond : more,
    hasPreviousPage: dir === 'before' ? more : beyond,
    startCursor: first ? cursors.encode('images', first.id as string) : null,
    endCursor: last ? cursors.encode('images', last.id as string) : null,
  }
  return `{"data":[${rows.map(imageJson).join(',')}],"pageInfo":${q(pageInfo)}}`
}

async function main() {
  const [secretRow] = await run(
    isPg ? `select value from settings where key = $1` : `select value from settings where key = ?`,
    ['cursor_secret'],
  )
  const cursors = new CursorCodec(Buffer.from(String(secretRow!.value), 'base64'))
  const byId = await single('id')
  const byFile = await single('file')
  const notFound = q({ error: { code: 'not_found', message: 'Image not found' } })

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bare')
    const path = url.pathname
    const reply = async () => {
      if (path === '/api/images')
        return send(res, 200, await list(url, req.headers.authorization === adminAuth, cursors))
      const m = /^\/api\/images\/(by-file\/)?([^/]+)$/.exec(path)
      if (m) {
        const [row] = await run(m[1] ? byFile : byId, [m[2]!])
        return row ? send(res, 200, imageJson(row)) : send(res, 404, notFound)
      }
      send(res, 404, q({ error: { code: 'not_found', message: 'Route not found' } }))
    }
    reply().catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
      send(res, 500, q({ error: { code: 'internal', message: 'Internal error' } }))
    })
  })
  server.listen(Number(env.PORT ?? 0), env.HOST ?? '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    process.stdout.write(`bare listening on http://${env.HOST ?? '127.0.0.1'}:${port}\n`)
  })
  process.on('SIGTERM', () => process.exit(0))
}

void main()
