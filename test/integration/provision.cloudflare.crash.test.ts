import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { after, before, it } from 'node:test'
import sharp from 'sharp'
import { Worker } from '../../src/platform/jobs/worker.js'
import { CloudflareDouble } from '../doubles/cloudflare-double.js'
import { newUser, newWorkspace, settled, upload } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

/**
 * A worker process killed after Cloudflare stored the upload but before the
 * image row was committed; a restarted worker must end with exactly one copy
 * and one row (the retried upload finds its custom id taken and adopts it).
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
let cf: CloudflareDouble
let t: TestEnv
const children: ChildProcess[] = []

before(async () => {
  cf = await CloudflareDouble.start()
  t = await createTestEnv({ ...cf.env(), JOB_LEASE_MS: '1000' })
})
after(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await t.close()
  await cf.close()
})

function startWorker(): ChildProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(NODE_TEST_CONTEXT|DATABASE_URL|DATA_DIR|IMAGE_PROVIDER|CF_.*)$/.test(k),
    ),
  )
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: ROOT,
    env: { ...inherited, ...t.env, JOB_LEASE_MS: '1000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  return child
}

it('a worker killed between the Cloudflare upload and the commit leaves one copy and one image after restart', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner)
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#369' } })
    .png()
    .toBuffer()
  // Cloudflare stores the upload and the worker never hears back: it is killed while it waits.
  cf.failNext({ method: 'POST', path: /^\/v1$/, hang: true })
  const stored = once(cf, 'upload')
  const file = await upload(owner.api, ws.id, png, 'crash.png')

  const first = startWorker()
  const [copy] = (await stored) as [{ id: string }]
  first.kill('SIGKILL')
  await once(first, 'exit')
  const midway = await t.c.db
    .selectFrom('files')
    .select('image_status')
    .where('id', '=', file.id)
    .executeTakeFirst()
  assert.equal(midway?.image_status, 'pending', 'the crash left the file waiting')
  assert.equal(cf.images.size, 1)

  // The restart: a fresh worker on the same database claims the job once the dead one's lease runs out.
  const second = new Worker(t.c, { pollMs: 50 }).start()
  const [row] = await settled(t, [file.id], 30_000)
  await second.stop()

  assert.equal(row!.image_status, 'ready', row!.image_error ?? '')
  const images = await t.c.db.selectFrom('images').selectAll().where('file_id', '=', file.id).execute()
  assert.equal(images.length, 1, 'one image row')
  assert.equal(cf.images.size, 1, 'one Cloudflare copy')
  assert.equal(images[0]!.cf_image_id, copy.id, 'the row points at the copy the killed worker made')
  assert.deepEqual(
    cf.requests.filter((r) => r.method === 'POST').map((r) => r.status),
    [-2, 409],
    'the restarted worker retried the upload under the same id and adopted the copy',
  )
  const image = (await owner.api.get(`/api/images/${images[0]!.id}`)).json() as { url: string }
  assert.equal(image.url, `https://imagedelivery.net/${cf.accountHash}/${copy.id}/public`)
})
