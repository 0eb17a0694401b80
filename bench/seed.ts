import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { hashSecret, mintSecret } from '../src/features/auth/admission.js'
import { imageHead } from '../src/features/images/image-json.js'
import { migrateToLatest, openDatabase } from '../src/platform/db/database.js'
import type { FileTable, ImageTable } from '../src/platform/db/tables.js'
import { newId } from '../src/shared/ids.js'
import type { BenchConfig } from './config.js'

/** What the load phases need to know about a seeded database. */
export interface Fixture {
  driver: 'sqlite' | 'postgres'
  /** DATABASE_URL for the servers under test. */
  databaseUrl: string
  images: number
  bigWorkspaceId: string
  bigImages: number
  memberToken: string
  adminToken: string
  /** The workspaces the member sees (the big one and a few small ones). */
  memberScope: string[]
  cursorSecret: Buffer
  /** A spread of image ids (and their file ids) of the big workspace, for single reads. */
  samples: { id: string; fileId: string }[]
  /** The key of the row at `depth` in the big workspace, newest first: the depth page starts after it. */
  depthKey: string
  depth: number
}

interface SeedMeta {
  version: number
  images: number
  workspaces: number
  bigImages: number
  bigWorkspaceId: string
  memberToken: string
  adminToken: string
  cursorSecret: string
}

// 2: images carry their JSON head (images.json). 3: and their thumbhash. 4: and their delivery path.
const SEED_VERSION = 4
const BASE_TIME = Date.parse('2024-01-01T00:00:00Z')
const STEP_MS = 30_000
/** The member sees the big workspace and this many small ones. */
const MEMBER_SMALL_WORKSPACES = 9

type Row = { file: FileTable; image: ImageTable }

const FILE_COLUMNS = [
  'id',
  'workspace_id',
  'name',
  'mime',
  'size',
  'sha256',
  'blob_key',
  'created_at',
  'created_by',
  'image_status',
  'image_id',
  'image_error',
] as const satisfies readonly (keyof FileTable)[]
const IMAGE_COLUMNS = [
  'id',
  'file_id',
  'workspace_id',
  'provider',
  'cf_image_id',
  'width',
  'height',
  'size',
  'exif',
  'exif_gps',
  'thumbhash',
  'created_at',
  'json',
  'url_path',
] as const satisfies readonly (keyof ImageTable)[]

const CAMERAS = [
  ['FUJIFILM', 'X-T4', 'XF23mmF1.4 R'],
  ['Canon', 'Canon EOS R6', 'RF24-105mm F4 L IS USM'],
  ['NIKON CORPORATION', 'NIKON Z 6_2', 'NIKKOR Z 50mm f/1.8 S'],
  ['SONY', 'ILCE-7M4', 'FE 35mm F1.8'],
  ['Apple', 'iPhone 15 Pro', 'iPhone 15 Pro back triple camera 6.765mm f/1.78'],
] as const

/** About 600 bytes of the tags a camera writes, as the provision job stores them (JSON text). */
function exifFor(i: number, taken: string): string {
  const [make, model, lens] = CAMERAS[i % CAMERAS.length]!
  return JSON.stringify({
    Make: make,
    Model: model,
    Orientation: i % 7 === 0 ? 6 : 1,
    XResolution: 72,
    YResolution: 72,
    ResolutionUnit: 2,
    Software: `${model} Ver1.${i % 10}0`,
    ModifyDate: taken,
    ExposureTime: 1 / (60 + (i % 900)),
    FNumber: [1.8, 2.8, 4, 5.6, 8][i % 5],
    ExposureProgram: 2,
    ISO: [100, 160, 400, 800, 3200][i % 5],
    ExifVersion: '0232',
    DateTimeOriginal: taken,
    CreateDate: taken,
    ShutterSpeedValue: 7.96,
    ApertureValue: 4.97,
    BrightnessValue: 8.51,
    ExposureCompensation: 0,
    MeteringMode: 5,
    Flash: 16,
    FocalLength: 23 + (i % 50),
    ColorSpace: 1,
    ExifImageWidth: 6240,
    ExifImageHeight: 4160,
    FocalLengthIn35mmFormat: 35,
    LensModel: lens,
  })
}

interface Plan {
  workspaces: string[]
  bigWorkspaceId: string
  smallImages: number
  bigImages: number
  userId: string
}

/**
 * Rows in time order (ids and created_at increase together). Every row's file is
 * a provisioned JPEG; the big workspace's rows are spread evenly through time,
 * the rest go round-robin over the small workspaces, so each holds the same count.
 */
function* generate(plan: Plan): Generator<Row> {
  const total = plan.smallImages + plan.bigImages
  let small = 0
  for (let i = 0; i < total; i++) {
    const isBig = Math.floor(((i + 1) * plan.bigImages) / total) > Math.floor((i * plan.bigImages) / total)
    const ws = isBig ? plan.bigWorkspaceId : plan.workspaces[small++ % plan.workspaces.length]!
    const t = BASE_TIME + i * STEP_MS
    const fileId = newId('fil', t)
    const imageId = newId('img', t + 2_000)
    const size = 200_000 + ((i * 7919) % 9_000_000)
    const taken = new Date(t - 86_400_000).toISOString().slice(0, 19)
    const withExif = i % 10 < 3
    const portrait = i % 7 === 0
    const cfImageId = randomBytes(16).toString('hex')
    const image = {
      id: imageId,
      file_id: fileId,
      workspace_id: ws,
      provider: 'local',
      cf_image_id: cfImageId,
      url_path: `${cfImageId}/public`,
      width: portrait ? 4160 : 6240,
      height: portrait ? 6240 : 4160,
      size,
      exif: withExif ? exifFor(i, taken) : '{}',
      exif_gps:
        withExif && i % 20 === 0 ? JSON.stringify({ GPSLatitude: 48.8584, GPSLongitude: 2.2945 }) : null,
      thumbhash: null,
      created_at: new Date(t + 2_000).toISOString(),
    }
    yield {
      file: {
        id: fileId,
        workspace_id: ws,
        name: `IMG_${String(i % 100_000).padStart(5, '0')}.jpg`,
        mime: 'image/jpeg',
        size,
        sha256: randomBytes(32).toString('hex'),
        blob_key: `${ws}/${fileId}`,
        created_at: new Date(t).toISOString(),
        created_by: plan.userId,
        image_status: 'ready',
        image_id: imageId,
        image_error: null,
      },
      image: { ...image, json: imageHead(image) },
    }
  }
}

function* batches<T>(source: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = []
  for (const item of source) {
    batch.push(item)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}

/** Users, tokens, workspaces, memberships and counters: the small tables, in one go. */
function baseRows(cfg: BenchConfig) {
  const now = new Date(BASE_TIME).toISOString()
  const adminId = newId('usr', BASE_TIME - 10_000)
  const memberId = newId('usr', BASE_TIME - 9_000)
  const workspaces = Array.from({ length: cfg.workspaces }, (_, i) => newId('ws', BASE_TIME - 8_000 + i))
  const bigWorkspaceId = newId('ws', BASE_TIME - 7_000 + cfg.workspaces)
  const adminToken = mintSecret()
  const memberToken = mintSecret()
  const bigImages = Math.round(cfg.images / 10)
  const perSmall = (i: number) =>
    Math.floor(cfg.images / cfg.workspaces) + (i < cfg.images % cfg.workspaces ? 1 : 0)
  return {
    plan: { workspaces, bigWorkspaceId, smallImages: cfg.images, bigImages, userId: memberId } satisfies Plan,
    meta: {
      version: SEED_VERSION,
      images: cfg.images,
      workspaces: cfg.workspaces,
      bigImages,
      bigWorkspaceId,
      adminToken,
      memberToken,
      cursorSecret: randomBytes(32).toString('base64'),
    } satisfies SeedMeta,
    users: [
      { id: adminId, email: 'admin@bench.local', name: 'Bench admin', role: 'admin', created_at: now },
      { id: memberId, email: 'member@bench.local', name: 'Bench member', role: 'member', created_at: now },
    ],
    tokens: [
      { id: newId('tok', BASE_TIME - 6_000), user_id: adminId, name: 'bench', hash: hashSecret(adminToken) },
      {
        id: newId('tok', BASE_TIME - 5_000),
        user_id: memberId,
        name: 'bench',
        hash: hashSecret(memberToken),
      },
    ].map((t) => ({ ...t, created_at: now, expires_at: null })),
    workspaces: [...workspaces, bigWorkspaceId].map((id, i) => ({
      id,
      name: `Workspace ${i}`,
      created_at: now,
    })),
    members: [bigWorkspaceId, ...workspaces.slice(0, MEMBER_SMALL_WORKSPACES)].map((ws, i) => ({
      id: newId('mem', BASE_TIME - 4_000 + i),
      workspace_id: ws,
      user_id: memberId,
      role: 'viewer',
      created_at: now,
    })),
    counters: [
      ...workspaces.map((ws, i) => ({ workspace_id: ws, images: perSmall(i), files: perSmall(i) })),
      { workspace_id: bigWorkspaceId, images: bigImages, files: bigImages },
    ],
  }
}

const matches = (meta: SeedMeta | undefined, cfg: BenchConfig) =>
  meta?.version === SEED_VERSION && meta.images === cfg.images && meta.workspaces === cfg.workspaces

const log = (msg: string) => process.stderr.write(`[seed] ${msg}\n`)

function progress(label: string, total: number) {
  const started = performance.now()
  let done = 0
  let next = 0
  return (n: number) => {
    done += n
    if (done >= next || done === total) {
      const s = (performance.now() - started) / 1000
      log(`${label}: ${done.toLocaleString('en')}/${total.toLocaleString('en')} rows, ${s.toFixed(0)} s`)
      next += Math.max(100_000, Math.ceil(total / 10))
    }
  }
}

// SQLite

export async function seedSqlite(cfg: BenchConfig): Promise<Fixture> {
  mkdirSync(cfg.dataDir, { recursive: true })
  const file = path.join(cfg.dataDir, `sqlite-${cfg.images}x${cfg.workspaces}.db`)
  let meta = existsSync(file) ? readSqliteMeta(file) : undefined
  if (!matches(meta, cfg)) {
    meta = await buildSqlite(cfg, file)
  } else {
    log(`reusing ${file}`)
  }
  const sqlite = new SQLite(file, { readonly: true })
  try {
    const q = (sql: string, ...params: unknown[]) =>
      sqlite.prepare(sql).all(...params) as Record<string, string>[]
    return await fixture(cfg, meta!, `sqlite:${file}`, 'sqlite', q)
  } finally {
    sqlite.close()
  }
}

function readSqliteMeta(file: string): SeedMeta | undefined {
  try {
    const sqlite = new SQLite(file, { readonly: true })
    const row = sqlite.prepare(`select value from settings where key = 'bench_seed'`).get() as
      | { value: string }
      | undefined
    sqlite.close()
    return row ? (JSON.parse(row.value) as SeedMeta) : undefined
  } catch {
    return undefined
  }
}

async function buildSqlite(cfg: BenchConfig, file: string): Promise<SeedMeta> {
  const tmp = `${file}.tmp`
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, file, `${file}-wal`, `${file}-shm`])
    rmSync(f, { force: true })
  log(
    `seeding SQLite ${file}: ${cfg.images.toLocaleString('en')} images in ${cfg.workspaces} workspaces + 1 big`,
  )
  const handle = openDatabase({ driver: 'sqlite', file: tmp })
  await migrateToLatest(handle.db)
  await handle.destroy()

  const sqlite = new SQLite(tmp)
  sqlite.pragma('journal_mode = OFF')
  sqlite.pragma('synchronous = OFF')
  sqlite.pragma('cache_size = -1000000')
  const base = baseRows(cfg)
  const insertAll = (table: string, rows: Record<string, unknown>[]) => {
    for (const row of rows) {
      const cols = Object.keys(row)
      sqlite
        .prepare(`insert into ${table} (${cols.join(',')}) values (${cols.map(() => '?').join(',')})`)
        .run(...cols.map((c) => row[c]))
    }
  }
  const multi = (table: string, cols: readonly string[], n: number) =>
    sqlite.prepare(
      `insert into ${table} (${cols.join(',')}) values ${Array.from({ length: n }, () => `(${cols.map(() => '?').join(',')})`).join(',')}`,
    )
  const BATCH = 200
  const filesFull = multi('files', FILE_COLUMNS, BATCH)
  const imagesFull = multi('images', IMAGE_COLUMNS, BATCH)
  const total = base.plan.smallImages + base.plan.bigImages
  const tick = progress('sqlite', total)
  sqlite.transaction(() => {
    insertAll('users', base.users)
    insertAll('tokens', base.tokens)
    insertAll('workspaces', base.workspaces)
    insertAll('members', base.members)
    insertAll('workspace_counters', base.counters)
    insertAll('settings', [
      { key: 'bench_seed', value: JSON.stringify(base.meta) },
      { key: 'cursor_secret', value: base.meta.cursorSecret },
    ])
    for (const batch of batches(generate(base.plan), BATCH)) {
      const full = batch.length === BATCH
      const files = full ? filesFull : multi('files', FILE_COLUMNS, batch.length)
      const images = full ? imagesFull : multi('images', IMAGE_COLUMNS, batch.length)
      files.run(batch.flatMap((r) => FILE_COLUMNS.map((c) => r.file[c])))
      images.run(batch.flatMap((r) => IMAGE_COLUMNS.map((c) => r.image[c])))
      tick(batch.length)
    }
  })()
  sqlite.pragma('journal_mode = WAL')
  sqlite.close()
  renameSync(tmp, file)
  return base.meta
}

// PostgreSQL

export async function seedPostgres(cfg: BenchConfig): Promise<Fixture> {
  const schema = `bench_${cfg.images}x${cfg.workspaces}`
  const url = `${cfg.pgUrl}${cfg.pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  const client = new pg.Client({ connectionString: cfg.pgUrl })
  await client.connect()
  try {
    let meta: SeedMeta | undefined
    try {
      const r = await client.query(`select value from ${schema}.settings where key = 'bench_seed'`)
      meta = r.rows[0] ? (JSON.parse(r.rows[0].value) as SeedMeta) : undefined
    } catch {
      meta = undefined
    }
    if (!matches(meta, cfg)) {
      meta = await buildPostgres(cfg, client, schema, url)
    } else {
      log(`reusing PostgreSQL schema ${schema}`)
    }
    await client.query(`set search_path = ${schema}`)
    const q = async (sql: string, ...params: unknown[]) => {
      let n = 0
      const text = sql.replace(/\?/g, () => `$${++n}`)
      return (await client.query(text, params)).rows as Record<string, string>[]
    }
    return await fixture(cfg, meta!, url, 'postgres', q)
  } finally {
    await client.end()
  }
}

async function buildPostgres(cfg: BenchConfig, client: pg.Client, schema: string, url: string) {
  log(`seeding PostgreSQL schema ${schema}: ${cfg.images.toLocaleString('en')} images`)
  await client.query(`drop schema if exists ${schema} cascade`)
  await client.query(`create schema ${schema}`)
  const handle = openDatabase({ driver: 'postgres', url })
  await migrateToLatest(handle.db)
  await handle.destroy()
  await client.query(`set search_path = ${schema}`)
  await client.query('set synchronous_commit = off')
  const base = baseRows(cfg)
  const insertAll = async (table: string, rows: Record<string, unknown>[]) => {
    for (const row of rows) {
      const cols = Object.keys(row)
      await client.query(
        `insert into ${table} (${cols.join(',')}) values (${cols.map((_, i) => `$${i + 1}`).join(',')})`,
        cols.map((c) => row[c]),
      )
    }
  }
  // unnest over one array per column: a batch of thousands of rows is one statement with few parameters.
  const PG_TYPES: Partial<Record<string, string>> = { size: 'bigint', width: 'integer', height: 'integer' }
  const unnest = (table: string, cols: readonly string[]) =>
    `insert into ${table} (${cols.join(',')}) select * from unnest(${cols.map((c, i) => `$${i + 1}::${PG_TYPES[c] ?? 'text'}[]`).join(',')})`
  const filesSql = unnest('files', FILE_COLUMNS)
  const imagesSql = unnest('images', IMAGE_COLUMNS)
  const total = base.plan.smallImages + base.plan.bigImages
  const tick = progress('postgres', total)
  await client.query('begin')
  await insertAll('users', base.users)
  await insertAll('tokens', base.tokens)
  await insertAll('workspaces', base.workspaces)
  await insertAll('members', base.members)
  await insertAll('workspace_counters', base.counters)
  await insertAll('settings', [{ key: 'cursor_secret', value: base.meta.cursorSecret }])
  for (const batch of batches(generate(base.plan), 5_000)) {
    await client.query(
      filesSql,
      FILE_COLUMNS.map((c) => batch.map((r) => r.file[c])),
    )
    await client.query(
      imagesSql,
      IMAGE_COLUMNS.map((c) => batch.map((r) => r.image[c])),
    )
    tick(batch.length)
  }
  // Written last: a seed that died half-way is not taken for a complete one.
  await insertAll('settings', [{ key: 'bench_seed', value: JSON.stringify(base.meta) }])
  await client.query('commit')
  await client.query('analyze')
  return base.meta
}

// Both

type Query = (
  sql: string,
  ...params: unknown[]
) => Record<string, string>[] | Promise<Record<string, string>[]>

async function fixture(
  cfg: BenchConfig,
  meta: SeedMeta,
  databaseUrl: string,
  driver: Fixture['driver'],
  q: Query,
): Promise<Fixture> {
  const ws = meta.bigWorkspaceId
  const depth = Math.min(cfg.depth, Math.max(0, meta.bigImages - 200))
  const [depthRow] = await q(
    'select id from images where workspace_id = ? order by id desc limit 1 offset ?',
    ws,
    Math.max(0, depth - 1),
  )
  // Single reads rotate over ids spread through the workspace, not one hot row.
  const samples: Fixture['samples'] = []
  const windows = 20
  for (let w = 0; w < windows; w++) {
    const offset = Math.floor((w * Math.max(0, meta.bigImages - 50)) / windows)
    const rows = await q(
      'select id, file_id from images where workspace_id = ? order by id desc limit 50 offset ?',
      ws,
      offset,
    )
    for (const r of rows) samples.push({ id: r.id!, fileId: r.file_id! })
  }
  const scope = await q(
    `select workspace_id from members where user_id = (select user_id from members where workspace_id = ? limit 1)`,
    ws,
  )
  return {
    driver,
    databaseUrl,
    memberScope: scope.map((r) => r.workspace_id!),
    images: meta.images + meta.bigImages,
    bigWorkspaceId: ws,
    bigImages: meta.bigImages,
    memberToken: meta.memberToken,
    adminToken: meta.adminToken,
    cursorSecret: Buffer.from(meta.cursorSecret, 'base64'),
    samples,
    depthKey: depthRow!.id!,
    depth,
  }
}
