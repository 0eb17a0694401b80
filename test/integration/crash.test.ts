import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestEnv, type TestEnv } from '../harness.js'
import { photo20mp } from '../support/images.js'
import { apiCall, childEnv, startPictura } from '../support/pictura-process.js'

/** The real process over real HTTP, killed with SIGKILL while it provisions, then started again. */

const _ROOT = path.resolve(import.meta.dirname, '../..')
const IMAGES = 50

let t: TestEnv
let env: Record<string, string>
let photo: Buffer
before(async () => {
  // The in-process env only creates the database and reads it; the child process does the work.
  t = await createTestEnv()
  env = childEnv({
    ...t.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WORKER_CONCURRENCY: '2',
    // Short, so jobs held by the killed process come back in seconds, not a minute.
    JOB_LEASE_MS: '2000',
  })
  // 20 MP each: slow enough to decode that the kill lands while jobs run.
  photo = await photo20mp()
})
after(() => t.close())

const start = (command: 'serve' | 'worker' = 'serve') => startPictura(command, env)

const call = (base: string, method: string, url: string, body?: Buffer | object) =>
  apiCall(base, t.adminToken, method, url, body)

const statuses = (ids: string[]) =>
  t.c.db.selectFrom('files').select(['id', 'image_status']).where('id', 'in', ids).execute()

/** Files that look like leftovers of interrupted writes: temp names or anything in a `.tmp` folder. */
function tempFiles(dir: string, inTmp = false): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return tempFiles(full, inTmp || e.name === '.tmp')
    return inTmp || /\.(tmp|part)$/.test(e.name) ? [full] : []
  })
}

test('kill -9 while provisioning: after a restart all 50 end ready, one image each, no temp files', async () => {
  const first = await start()
  const ws = await call(first.base, 'POST', '/api/workspaces', { name: 'crash' })
  assert.equal(ws.status, 201)
  const ids: string[] = []
  for (let i = 0; i < IMAGES; i += 5) {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        call(first.base, 'POST', `/api/files?workspace_id=${ws.body.id}&name=p${i + k}.jpg`, photo),
      ),
    )
    for (const a of answers) {
      assert.equal(a.status, 201)
      ids.push(a.body.id as string)
    }
  }
  // One more upload, cut off half-way by the kill: its temp file must not survive the restart.
  const partial = http.request(`${first.base}/api/files?workspace_id=${ws.body.id}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' },
  })
  partial.on('error', () => {})
  partial.write(photo.subarray(0, 1024 * 1024))

  // Kill while jobs are held and some files still wait.
  const deadline = Date.now() + 20_000
  for (;;) {
    const held = await t.c.db.selectFrom('jobs').select('id').where('locked_by', 'is not', null).execute()
    const rows = await statuses(ids)
    const pending = rows.filter((r) => r.image_status === 'pending').length
    if (held.length > 0 && pending > 0 && tempFiles(t.dataDir).length > 0) break
    assert.ok(Date.now() < deadline, 'the kill should land while jobs run')
    await sleep(5)
  }
  first.proc.kill('SIGKILL')
  await first.exited
  const atKill = await statuses(ids)
  const pendingAtKill = atKill.filter((r) => r.image_status === 'pending').length
  assert.ok(pendingAtKill > 0)

  const restarted = Date.now()
  const second = await start()
  let rows = await statuses(ids)
  while (rows.some((r) => r.image_status === 'pending') && Date.now() - restarted < 90_000) {
    await sleep(100)
    rows = await statuses(ids)
  }
  console.log(
    `# ${pendingAtKill}/${IMAGES} pending at the kill; all settled ${Date.now() - restarted} ms after the restart began`,
  )
  assert.deepEqual(
    rows.filter((r) => r.image_status !== 'ready'),
    [],
  )
  const perFile = await t.c.db
    .selectFrom('images')
    .select(['file_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('file_id', 'in', ids)
    .groupBy('file_id')
    .execute()
  assert.equal(perFile.length, IMAGES)
  assert.ok(
    perFile.every((r) => Number(r.n) === 1),
    'exactly one image per file',
  )
  const counter = await t.c.db
    .selectFrom('workspace_counters')
    .select('images')
    .where('workspace_id', '=', ws.body.id as string)
    .executeTakeFirstOrThrow()
  assert.equal(Number(counter.images), IMAGES, 'the exact total agrees')
  const listed = await call(second.base, 'GET', `/api/images?workspace_id=${ws.body.id}&limit=100`)
  assert.equal((listed.body.data as unknown[]).length, IMAGES)
  assert.deepEqual(tempFiles(t.dataDir), [])

  // A graceful stop: HTTP first, then the worker, then the database; exit code 0.
  second.proc.kill('SIGTERM')
  assert.equal(await second.exited, 0)
})

test('`pictura worker` provisions on its own and stops cleanly on SIGTERM', async () => {
  const server = await start()
  const ws = await call(server.base, 'POST', '/api/workspaces', { name: 'split' })
  // Stop the server's own worker: only the separate worker process may provision from here on.
  server.proc.kill('SIGTERM')
  assert.equal(await server.exited, 0)
  // Uploaded through the in-process app, which runs no worker.
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/files?workspace_id=${ws.body.id}&name=w.jpg`,
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' },
    payload: photo,
  })
  assert.equal(res.statusCode, 201)
  const file = res.json() as { id: string }
  const worker = await start('worker')
  const deadline = Date.now() + 20_000
  let rows = await statuses([file.id])
  while (rows[0]?.image_status === 'pending' && Date.now() < deadline) {
    await sleep(50)
    rows = await statuses([file.id])
  }
  assert.equal(rows[0]?.image_status, 'ready')
  worker.proc.kill('SIGTERM')
  assert.equal(await worker.exited, 0, worker.output())
})
