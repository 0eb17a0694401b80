/**
 * Which files of src/ a GET /api/images runs: two servers on fresh data dirs
 * make the same workspace and image, one then answers N lists; the files whose
 * function calls grew by at least N/2 over the other's (V8's coverage counts,
 * NODE_V8_COVERAGE) are the read path. Needs `npm run build` first.
 *
 *   npx tsx bench/read-path.ts   # BENCH_DB, BENCH_PG_URL as for npm run bench
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import sharp from 'sharp'
import { benchConfig } from './config.js'
import { pictura } from './processes.js'

const LISTS = 200
const cfg = benchConfig()
type Db = (typeof cfg.dbs)[number]
const TOKEN = `pic_${'r'.repeat(43)}`
const AUTH = { authorization: `Bearer ${TOKEN}` }

interface Coverage {
  result: { url: string; functions: { ranges: { count: number }[] }[] }[]
}

/** Function calls per file of dist/src/ in a server that answered `lists` lists of one workspace. */
async function callsAfter(db: Db, lists: number): Promise<Map<string, number>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pictura-read-path-'))
  const coverage = path.join(dataDir, 'coverage')
  const database = await freshDatabase(db)
  const server = await pictura(
    { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: TOKEN, NODE_V8_COVERAGE: coverage, ...database.env },
    null,
  )
  try {
    const ws = await call<{ id: string }>(`${server.url}/api/workspaces`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: '{"name":"read path"}',
    })
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c33' } })
      .jpeg()
      .toBuffer()
    const form = new FormData()
    form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'a.jpg')
    await call(`${server.url}/api/files?workspace_id=${ws.id}`, { method: 'POST', headers: AUTH, body: form })
    // Both servers wait for the image through their files, so the lists alone tell them apart.
    const files = `${server.url}/api/files?workspace_id=${ws.id}`
    while ((await call<{ data: { image: { status: string } }[] }>(files)).data[0]?.image.status !== 'ready')
      await new Promise((r) => setTimeout(r, 100))
    for (let i = 0; i < lists; i++) await call(`${server.url}/api/images?workspace_id=${ws.id}`)
  } finally {
    await server.stop()
    await database.drop()
  }
  const calls = new Map<string, number>()
  for (const name of readdirSync(coverage)) {
    const { result } = JSON.parse(readFileSync(path.join(coverage, name), 'utf8')) as Coverage
    for (const script of result) {
      const at = script.url.indexOf('/dist/src/')
      if (at < 0) continue
      const file = `src/${script.url.slice(at + 10).replace(/\.js$/, '.ts')}`
      let count = 0
      for (const f of script.functions) count += f.ranges[0]?.count ?? 0
      calls.set(file, (calls.get(file) ?? 0) + count)
    }
  }
  rmSync(dataDir, { recursive: true, force: true })
  return calls
}

/** SQLite in the data dir, or an empty PostgreSQL schema dropped afterwards. */
async function freshDatabase(db: Db): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (db === 'sqlite') return { env: {}, drop: async () => {} }
  const schema = `read_path_${process.pid}`
  const admin = new pg.Client({ connectionString: cfg.pgUrl })
  await admin.connect()
  await admin.query(`drop schema if exists ${schema} cascade; create schema ${schema}`)
  const url = `${cfg.pgUrl}${cfg.pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  return {
    env: { DATABASE_URL: url },
    drop: async () => {
      await admin.query(`drop schema ${schema} cascade`)
      await admin.end()
    },
  }
}

async function call<T = unknown>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: { ...AUTH, ...init.headers } })
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

for (const db of cfg.dbs) {
  const before = await callsAfter(db, 0)
  const after = await callsAfter(db, LISTS)
  const files = [...after]
    .map(([file, calls]) => ({ file, perList: (calls - (before.get(file) ?? 0)) / LISTS }))
    .filter((f) => f.perList >= 0.5)
  console.log(`${db}: GET /api/images runs ${files.length} files of src/ (function calls a list):`)
  for (const { file, perList } of files) console.log(`  ${file.padEnd(42)} ${perList.toFixed(1)}`)
}
