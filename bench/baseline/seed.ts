/**
 * Seeds the baseline's tables (schema.ts) from Pictura's seeded database, one
 * bulk SQL statement a table: the very same images, their JSON computed in SQL.
 * Pictura's tables are read here by column name, as data; the server never
 * reads them. A copy is cached, as bench/seed.ts caches Pictura's seed, and
 * made again when Pictura's seed is made again (its images' random ids change).
 */
import { createHash } from 'node:crypto'
import { existsSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import type { BenchConfig } from '../config.js'
import { type Driver, INDEXES_SQL, imageJsonSql, TABLES_SQL } from './schema.js'

/** Pictura's seeded database (a bench/seed.ts Fixture is one). */
export interface Source {
  driver: Driver
  databaseUrl: string
  images: number
  /** Drawn afresh by every seed of Pictura's database: it tells one seed from another. */
  cursorSecret: Buffer
}

interface BaselineMeta {
  version: number
  /** A hash of the source's cursor secret: which seed of Pictura's this copies. */
  source: string
  images: number
}

/** Bump when the tables or the JSON change: copies of another version are made again. */
const BASELINE_VERSION = 2

const log = (msg: string) => process.stderr.write(`[baseline] ${msg}\n`)

/** Seeds (or reuses) the baseline of Pictura's seeded database; returns the baseline server's DATABASE_URL. */
export function seedBaseline(cfg: BenchConfig, src: Source): Promise<string> {
  const meta: BaselineMeta = {
    version: BASELINE_VERSION,
    source: createHash('sha256').update(src.cursorSecret).digest('hex').slice(0, 16),
    images: src.images,
  }
  return src.driver === 'sqlite' ? seedSqlite(src, meta) : seedPostgres(cfg, src, meta)
}

const same = (a: BaselineMeta | undefined, b: BaselineMeta) => JSON.stringify(a) === JSON.stringify(b)

/**
 * The rows in id order (the order a live service inserts them in), then the
 * counts from the rows, then the secondary indexes (one sorted build each).
 */
const copySql = (driver: Driver, from: string) => [
  `insert into images (workspace_id, id, file_id, json)
   select workspace_id, id, file_id, ${imageJsonSql(driver)} from ${from} order by id`,
  'insert into counts (workspace_id, images) select workspace_id, count(*) from images group by workspace_id',
  ...INDEXES_SQL,
]

const seconds = (started: number) => ((performance.now() - started) / 1000).toFixed(0)

/** A file next to Pictura's. */
async function seedSqlite(src: Source, meta: BaselineMeta): Promise<string> {
  const sourceFile = src.databaseUrl.replace(/^sqlite:/, '')
  const file = path.join(path.dirname(sourceFile), `baseline-${path.basename(sourceFile)}`)
  if (same(existsSync(file) ? readSqliteMeta(file) : undefined, meta)) {
    log(`reusing ${file}`)
    return `sqlite:${file}`
  }
  log(`copying ${src.images.toLocaleString('en')} images into ${file}`)
  const started = performance.now()
  const tmp = `${file}.tmp`
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, file, `${file}-wal`, `${file}-shm`])
    rmSync(f, { force: true })
  const db = new SQLite(tmp)
  db.pragma('journal_mode = OFF')
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -1000000')
  db.prepare('attach database ? as source').run(sourceFile)
  db.transaction(() => {
    for (const sql of TABLES_SQL) db.exec(sql)
    for (const sql of copySql('sqlite', 'source.images')) db.exec(sql)
    db.prepare(`insert into meta (key, value) values ('seed', ?)`).run(JSON.stringify(meta))
  })()
  db.exec('detach database source')
  // As Pictura's database: readers in WAL mode take no file locks.
  db.pragma('journal_mode = WAL')
  db.close()
  renameSync(tmp, file)
  log(`SQLite baseline copied in ${seconds(started)} s`)
  return `sqlite:${file}`
}

function readSqliteMeta(file: string): BaselineMeta | undefined {
  try {
    const db = new SQLite(file, { readonly: true })
    const row = db.prepare(`select value from meta where key = 'seed'`).get() as { value: string } | undefined
    db.close()
    return row ? (JSON.parse(row.value) as BaselineMeta) : undefined
  } catch {
    return undefined
  }
}

/** A schema of its own in the bench database. */
async function seedPostgres(cfg: BenchConfig, src: Source, meta: BaselineMeta): Promise<string> {
  const schema = `bench_baseline_${cfg.images}x${cfg.workspaces}`
  const url = `${cfg.pgUrl}${cfg.pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  // Pictura's URL: its search path names the schema to copy from.
  const client = new pg.Client({ connectionString: src.databaseUrl })
  await client.connect()
  try {
    let found: BaselineMeta | undefined
    try {
      const r = await client.query(`select value from ${schema}.meta where key = 'seed'`)
      found = r.rows[0] ? (JSON.parse(r.rows[0].value) as BaselineMeta) : undefined
    } catch {
      found = undefined
    }
    if (same(found, meta)) {
      log(`reusing PostgreSQL schema ${schema}`)
      return url
    }
    const source = (await client.query('select current_schema() as name')).rows[0].name as string
    log(`copying ${src.images.toLocaleString('en')} images from schema ${source} into ${schema}`)
    const started = performance.now()
    await client.query('begin')
    await client.query(`drop schema if exists ${schema} cascade`)
    await client.query(`create schema ${schema}`)
    await client.query(`set local search_path = ${schema}`)
    await client.query('set local synchronous_commit = off')
    for (const sql of TABLES_SQL) await client.query(sql)
    for (const sql of copySql('postgres', `${client.escapeIdentifier(source)}.images`))
      await client.query(sql)
    // Written last: a copy that died half-way is not taken for a complete one.
    await client.query(`insert into meta (key, value) values ('seed', $1)`, [JSON.stringify(meta)])
    await client.query('commit')
    await client.query(`analyze ${schema}.images, ${schema}.counts`)
    log(`PostgreSQL baseline copied in ${seconds(started)} s`)
    return url
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  } finally {
    await client.end()
  }
}
