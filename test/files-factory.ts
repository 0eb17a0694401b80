import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { TestEnv } from './harness.js'

/** The shared corpus of real images (never copied into the project). */
export const CORPUS = path.resolve(import.meta.dirname, '../../shared/corpus')
export const corpusFile = (relative: string) => readFileSync(path.join(CORPUS, relative))

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

/** POST /api/files with raw bytes (or a stream, sent without Content-Length). */
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
