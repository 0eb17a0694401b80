import assert from 'node:assert/strict'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FileTable } from '../../src/platform/db/tables.js'
import { Worker } from '../../src/platform/jobs/worker.js'
import { type Client, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

/** The shared corpus of real files (never copied into the project). */
export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus')

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
