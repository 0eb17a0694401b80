import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, test } from 'node:test'
import SQLite from 'better-sqlite3'
import { sql } from 'kysely'
import { Worker } from '../../src/platform/jobs/worker.js'
import { expectError } from '../expect.js'
import { client, newUser, newWorkspace, settled, upload, uploadRaw } from '../factories.js'
import { createTestEnv, DB_KIND, type TestEnv } from '../harness.js'
import { smallJpeg } from '../support/images.js'
import { type SmallDisk, smallDisk } from '../support/small-disk.js'

/**
 * A full disk under DATA_DIR (a real 24 MiB tmpfs where the machine lets us
 * mount one; otherwise a blob store that fails with ENOSPC): writes answer
 * 507 `insufficient_storage`, the log keeps the original error, reads go on,
 * and once space is freed everything works again, with an intact database.
 */

const disk = smallDisk(24)
const logs: string[] = []
const logSink = new Writable({
  write(chunk, _encoding, done) {
    logs.push(String(chunk))
    done()
  },
})

let t: TestEnv
let worker: Worker
let owner: Awaited<ReturnType<typeof newUser>>
let ws: string
let kept: { id: string }
before(async () => {
  t = await createTestEnv(
    { ...(disk ? { DATA_DIR: disk.dir } : {}), LOG_LEVEL: 'info', WORKER_IN_PROCESS: 'false' },
    { log: logSink },
  )
  worker = new Worker(t.c, { pollMs: 50 }).start()
  owner = await newUser(t)
  ws = (await newWorkspace(owner)).id
  kept = await upload(owner.api, ws, await smallJpeg(), 'kept.jpg')
  assert.equal((await settled(t, [kept.id]))[0]!.image_status, 'ready')
})
after(async () => {
  await worker.stop()
  await t.close()
  disk?.close()
})

test(`the disk of this run is ${disk ? 'a real 24 MiB tmpfs' : 'simulated (mount not permitted)'}`, (c) => {
  c.diagnostic(disk ? `tmpfs at ${disk.dir}` : 'blob store failing with ENOSPC')
  if (process.env.CI === 'true') assert.ok(disk, 'CI runs as root and proves this on a real file system')
})

/** Fills the disk (or makes the blob store fail) until `free` is called. */
async function diskFull(): Promise<{ free: () => void }> {
  if (disk) return fullTmpfs(disk)
  const blobs = t.c.blobs
  const put = blobs.put.bind(blobs)
  blobs.put = async () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 })
  }
  return {
    free: () => {
      blobs.put = put
    },
  }
}

async function fullTmpfs(d: SmallDisk): Promise<{ free: () => void }> {
  // An empty WAL: the next write to SQLite must grow it, on the full disk.
  if (DB_KIND === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(t.c.db)
  d.fill()
  return { free: () => d.free() }
}

const logged = (pattern: RegExp) => logs.some((line) => pattern.test(line))

test('a full disk answers 507 insufficient_storage, logs the cause, and reads keep working', async () => {
  const full = await diskFull()
  try {
    const res = await uploadRaw(t, owner.token, ws, await smallJpeg(), { name: 'no-room.jpg' })
    expectError(res, 507, 'insufficient_storage')
    assert.doesNotMatch(res.body, /ENOSPC|SQLITE|stack/i, 'the answer leaks nothing')
    assert.ok(logged(/ENOSPC/), 'the log names the original error')

    if (disk && DB_KIND === 'sqlite') {
      expectError(await owner.api.post('/api/workspaces', { name: 'No room' }), 507, 'insufficient_storage')
      assert.ok(logged(/database or disk is full/), 'the log names SQLite’s error')
      assert.ok(!logged(/cannot rollback/), 'no failed rollback hides it')
    }
    assert.ok(!logged(/"code":"internal"|unhandled error|internal error/), 'nothing answered as internal')

    // Reads: lists, a file, its bytes, its image.
    const files = await owner.api.get(`/api/files?workspace_id=${ws}`)
    assert.equal(files.statusCode, 200, files.body)
    assert.deepEqual(
      (files.json() as { data: { id: string }[] }).data.map((f) => f.id),
      [kept.id],
    )
    assert.equal((await owner.api.get(`/api/files/${kept.id}`)).statusCode, 200)
    const content = await owner.api.get(`/api/files/${kept.id}/content`)
    assert.equal(content.statusCode, 200)
    assert.ok(content.rawPayload.equals(await smallJpeg()))
    const image = await owner.api.get(`/api/images/by-file/${kept.id}`)
    assert.equal(image.statusCode, 200)
    // A variant never rendered before: rendered and served, though the cache cannot keep it.
    const { cfImageId } = image.json() as { cfImageId: string }
    const variant = await t.app.inject({ method: 'GET', url: `/cdn/${cfImageId}/w=77` })
    assert.equal(variant.statusCode, 200, variant.body)
    assert.equal((await owner.api.get(`/api/images?workspace_id=${ws}`)).statusCode, 200)
  } finally {
    full.free()
  }

  // Room again: uploads and their provisioning work, nothing was left behind.
  const again = await upload(owner.api, ws, await smallJpeg(), 'after.jpg')
  assert.equal((await settled(t, [again.id]))[0]!.image_status, 'ready')
  expectError(await client(t, owner.token).get('/api/files/fil_missing'), 404, 'not_found')
  const rows = await t.c.db.selectFrom('files').select('name').where('workspace_id', '=', ws).execute()
  assert.deepEqual(rows.map((r) => r.name).sort(), ['after.jpg', 'kept.jpg'])

  const config = t.c.config.db
  if (config.driver === 'sqlite') {
    const db = new SQLite(config.file, { readonly: true })
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }])
    } finally {
      db.close()
    }
  }
})
