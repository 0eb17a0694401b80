import assert from 'node:assert/strict'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FileTable } from '../../src/platform/db/tables.js'
import type { Client } from '../factories.js'
import type { TestEnv } from '../harness.js'

/** The shared corpus of real files (never copied into the project). */
export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus')

export interface UploadedFile {
  id: string
  size: number
  mime: string
  image: { status: string; id: string | null; error: string | null }
}

/** Uploads raw bytes through the real API (as `application/octet-stream`: the type is sniffed, never trusted). */
export async function upload(
  api: Client,
  workspaceId: string,
  bytes: Buffer,
  name: string,
): Promise<UploadedFile> {
  const res = await api.post(
    `/api/files?workspace_id=${workspaceId}&name=${encodeURIComponent(name)}`,
    bytes,
    { 'content-type': 'application/octet-stream' },
  )
  assert.equal(res.statusCode, 201, `upload of ${name}: ${res.body}`)
  return res.json() as UploadedFile
}

/** Waits until none of the files is pending; returns their rows. */
export async function settled(t: TestEnv, fileIds: string[], timeoutMs = 60_000): Promise<FileTable[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await t.c.db.selectFrom('files').selectAll().where('id', 'in', fileIds).execute()
    if (rows.length === fileIds.length && rows.every((r) => r.image_status !== 'pending')) return rows
    if (Date.now() > deadline) {
      const pending = rows.filter((r) => r.image_status === 'pending').map((r) => r.name)
      throw new Error(`still pending after ${timeoutMs} ms: ${pending.join(', ')}`)
    }
    await sleep(25)
  }
}
