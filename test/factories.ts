import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import { FilesRepository } from '../src/features/files/files.repository.js'
import { ImagesRepository, type NewImage } from '../src/features/images/images.repository.js'
import type { FileTable, ImageStatus } from '../src/platform/db/tables.js'
import { Worker } from '../src/platform/jobs/worker.js'
import { newId } from '../src/shared/ids.js'
import { createTestEnv, type TestEnv } from './harness.js'
import { until } from './support/until.js'

/**
 * Every factory of the suite, in one place: the HTTP client, accounts
 * (users, workspaces, members), uploads and file rows, image rows, and the
 * provisioning setup (an env with a worker, waiting for files to settle,
 * running queued jobs by hand). The images themselves come from
 * ./support/images.ts.
 */

// ------------------------------------------------------------------ client

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A small client over app.inject(): real HTTP semantics, no sockets. */
export function client(t: TestEnv, token: string | null) {
  const call = (method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    })
  return {
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, body?: unknown, headers?: Record<string, string>) => call('POST', url, body, headers),
    put: (url: string, body?: unknown) => call('PUT', url, body),
    patch: (url: string, body?: unknown) => call('PATCH', url, body),
    del: (url: string) => call('DELETE', url),
  }
}

export type Client = ReturnType<typeof client>

export const json = <T = Record<string, unknown>>(res: LightMyRequestResponse): T => res.json() as T

// ---------------------------------------------------------------- accounts

let seq = 0

/** A new user with a token of their own. */
export async function newUser(t: TestEnv, role: 'admin' | 'member' = 'member') {
  const admin = client(t, t.adminToken)
  seq += 1
  const user = json<{ id: string; email: string; name: string }>(
    await admin.post('/api/users', {
      email: `user${seq}-${Date.now()}@example.com`,
      name: `User ${seq}`,
      role,
    }),
  )
  const token = json<{ token: string }>(
    await admin.post('/api/tokens', { name: 'test', userId: user.id }),
  ).token
  return { ...user, token, api: client(t, token) }
}

/** A workspace owned by `owner`. */
export async function newWorkspace(owner: { api: Client }, name = 'Workspace') {
  const res = await owner.api.post('/api/workspaces', { name })
  if (res.statusCode !== 201) throw new Error(`workspace create failed: ${res.body}`)
  return json<{ id: string; name: string }>(res)
}

export async function addMember(
  t: TestEnv,
  workspaceId: string,
  userId: string,
  role: 'viewer' | 'editor' | 'owner',
) {
  const res = await client(t, t.adminToken).put(`/api/workspaces/${workspaceId}/members/${userId}`, { role })
  if (res.statusCode >= 300) throw new Error(`member add failed: ${res.body}`)
}

// ----------------------------------------------------------------- uploads

/** A file as the API shows it. */
export interface FileBody {
  id: string
  workspaceId: string
  name: string
  mime: string
  size: number
  sha256: string
  createdAt: string
  createdBy: string
  image: { status: string; id: string | null; error: string | null }
}

export interface Part {
  name: string
  filename?: string
  contentType?: string
  data: Buffer | string
}

/** A multipart/form-data body built by hand, so tests control every byte of the framing. */
export function multipartBody(parts: Part[]): { payload: Buffer; contentType: string } {
  const boundary = `----pictura${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`
    const head = [`--${boundary}`, `Content-Disposition: ${disposition}`]
    if (p.contentType) head.push(`Content-Type: ${p.contentType}`)
    chunks.push(Buffer.from(`${head.join('\r\n')}\r\n\r\n`), Buffer.from(p.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

/** POST /api/files with raw bytes (or a stream, sent without Content-Length); the answer as it comes. */
export function uploadRaw(
  t: TestEnv,
  token: string,
  workspaceId: string,
  data: Buffer | string | Readable,
  opts: { contentType?: string; name?: string; headers?: Record<string, string> } = {},
) {
  const query = new URLSearchParams({ workspace_id: workspaceId })
  if (opts.name !== undefined) query.set('name', opts.name)
  return t.app.inject({
    method: 'POST',
    url: `/api/files?${query}`,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': opts.contentType ?? 'application/octet-stream',
      ...opts.headers,
    },
    payload: data,
  })
}

/** POST /api/files as multipart/form-data. */
export function uploadMultipart(
  t: TestEnv,
  token: string,
  workspaceId: string,
  parts: Part[],
  opts: { name?: string } = {},
) {
  const { payload, contentType } = multipartBody(parts)
  const query = new URLSearchParams({ workspace_id: workspaceId })
  if (opts.name !== undefined) query.set('name', opts.name)
  return t.app.inject({
    method: 'POST',
    url: `/api/files?${query}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    payload,
  })
}

/**
 * An upload that must succeed: raw bytes through the real API, as
 * `application/octet-stream` (the type is sniffed, never trusted).
 */
export async function upload(
  api: Client,
  workspaceId: string,
  bytes: Buffer,
  name: string,
): Promise<FileBody> {
  const res = await api.post(
    `/api/files?workspace_id=${workspaceId}&name=${encodeURIComponent(name)}`,
    bytes,
    { 'content-type': 'application/octet-stream' },
  )
  assert.equal(res.statusCode, 201, `upload of ${name}: ${res.body}`)
  return res.json() as FileBody
}

/** Every file under DATA_DIR/blobs (temp files included), relative to it. */
export function blobFiles(t: TestEnv): string[] {
  const root = path.join(t.dataDir, 'blobs')
  if (!existsSync(root)) return []
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
}

export function tmpFiles(t: TestEnv): string[] {
  return blobFiles(t).filter((f) => f.startsWith('.tmp'))
}

export async function fileRows(t: TestEnv, workspaceId: string) {
  return t.c.db.selectFrom('files').selectAll().where('workspace_id', '=', workspaceId).execute()
}

// -------------------------------------------------------------- rows direct

const images = new ImagesRepository()

/** A file row as an upload leaves it, without bytes: enough for the images endpoints. */
export async function newFile(
  t: TestEnv,
  workspaceId: string,
  opts: { mime?: string; status?: ImageStatus; createdBy?: string; name?: string; size?: number } = {},
): Promise<FileTable> {
  const id = newId('fil')
  const row: FileTable = {
    id,
    workspace_id: workspaceId,
    name: opts.name ?? `${id}.jpg`,
    mime: opts.mime ?? 'image/jpeg',
    size: opts.size ?? 1234,
    sha256: randomBytes(32).toString('hex'),
    blob_key: `test/${id}`,
    created_at: new Date().toISOString(),
    created_by: opts.createdBy ?? 'usr_00000000000000000000000000',
    image_status: opts.status ?? 'none',
    image_id: null,
    image_error: null,
  }
  const inserted = await t.c.db
    .transaction()
    .execute((trx) => new FilesRepository(t.c.db, t.c.database.capabilities).insert(trx, row))
  if (!inserted) throw new Error(`workspace ${workspaceId} is gone`)
  return row
}

export interface NewImageOptions {
  exif?: Record<string, unknown>
  gps?: Record<string, unknown> | null
  width?: number
  height?: number
  size?: number
  thumbhash?: string | null
  /** An existing file to bind; a new JPEG file otherwise. */
  fileId?: string
}

/** An image as the provision job leaves it: inserted through the repository, so the counter moves with it. */
export async function newImage(
  t: TestEnv,
  workspaceId: string,
  opts: NewImageOptions = {},
): Promise<NewImage> {
  const fileId = opts.fileId ?? (await newFile(t, workspaceId, { status: 'pending', size: opts.size })).id
  const cfImageId = randomBytes(16).toString('hex')
  const row: NewImage = {
    id: newId('img'),
    file_id: fileId,
    workspace_id: workspaceId,
    provider: 'local',
    cf_image_id: cfImageId,
    url_path: `${cfImageId}/public`,
    width: opts.width ?? 640,
    height: opts.height ?? 480,
    size: opts.size ?? 1234,
    exif: JSON.stringify(opts.exif ?? {}),
    exif_gps: opts.gps === undefined || opts.gps === null ? null : JSON.stringify(opts.gps),
    thumbhash: opts.thumbhash ?? null,
    created_at: new Date().toISOString(),
  }
  const inserted = await t.c.db.transaction().execute((trx) => images.insert(trx, row))
  if (!inserted) throw new Error(`file ${fileId} already has an image`)
  return row
}

/** Deletes through the repository (counter included), as a concurrent writer would. */
export async function removeImage(t: TestEnv, id: string): Promise<boolean> {
  const row = await t.c.db.transaction().execute((trx) => images.delete(trx, id))
  return row !== undefined
}

/** Every workspace's counter next to COUNT(*) of its image rows. */
export async function countersVsRows(t: TestEnv) {
  const counters = await t.c.db.selectFrom('workspace_counters').select(['workspace_id', 'images']).execute()
  const counts = await t.c.db
    .selectFrom('images')
    .select(['workspace_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('workspace_id')
    .execute()
  const byWs = new Map(counts.map((r) => [r.workspace_id, Number(r.n)]))
  return counters.map((c) => ({
    workspaceId: c.workspace_id,
    counter: Number(c.images),
    rows: byWs.get(c.workspace_id) ?? 0,
  }))
}

// ------------------------------------------------------------ provisioning

/**
 * A test env with a running worker and an owner's workspace: what every
 * provisioning test starts from. `worker: false` for tests that run jobs themselves.
 */
export interface WorkerEnv {
  t: TestEnv
  api: Client
  ws: string
  /** Stops the worker, then closes the env. */
  close(): Promise<void>
}

export async function createWorkerEnv(
  overrides: Record<string, string> = {},
  options: { worker?: boolean } = {},
): Promise<WorkerEnv> {
  const t = await createTestEnv(overrides)
  const worker =
    options.worker === false ? null : new Worker(t.c, { concurrency: t.c.config.workerConcurrency }).start()
  const owner = await newUser(t)
  const ws = (await newWorkspace(owner)).id
  return {
    t,
    api: owner.api,
    ws,
    close: async () => {
      await worker?.stop()
      await t.close()
    },
  }
}

/** Waits until none of the files is pending; returns their rows. */
export async function settled(t: TestEnv, fileIds: string[], timeoutMs = 60_000): Promise<FileTable[]> {
  let rows: FileTable[] = []
  const pending = () => rows.filter((r) => r.image_status === 'pending').map((r) => r.name)
  return until(
    async () => {
      rows = await t.c.db.selectFrom('files').selectAll().where('id', 'in', fileIds).execute()
      return rows.length === fileIds.length && pending().length === 0 && rows
    },
    { timeoutMs, intervalMs: 25, what: () => `still pending after ${timeoutMs} ms: ${pending().join(', ')}` },
  )
}

/** An image as the API shows it. */
export interface ImageBody {
  id: string
  fileId: string
  workspaceId: string
  cfImageId: string
  width: number
  height: number
  size: number
  exif: Record<string, unknown>
  thumbhash: string | null
  url: string
  createdAt: string
}

/** Uploads `bytes` into a worker env, waits for its image and asserts it is ready; returns the image. */
export async function provisioned(env: WorkerEnv, bytes: Buffer, name: string): Promise<ImageBody> {
  const file = await upload(env.api, env.ws, bytes, name)
  const [row] = await settled(env.t, [file.id])
  assert.equal(row!.image_status, 'ready', `${name}: ${row!.image_error}`)
  return json<ImageBody>(await env.api.get(`/api/images/by-file/${file.id}`))
}

/** Runs the queued jobs of one kind through the container's handlers, as a worker would. */
export async function runJobs(t: TestEnv, kind: string): Promise<number> {
  const handler = t.c.jobHandlers.get(kind)
  if (!handler) throw new Error(`no handler for ${kind}`)
  const rows = await t.c.db.selectFrom('jobs').selectAll().where('kind', '=', kind).execute()
  for (const row of rows) {
    const job = { id: row.id, kind: row.kind, payload: JSON.parse(row.payload), attempts: row.attempts }
    await handler(job.payload, job)
    await t.c.queue.complete(job)
  }
  return rows.length
}
