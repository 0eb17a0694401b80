import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, utimesSync } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { newId } from '../../src/shared/ids.js'
import { newUser, newWorkspace, upload } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { childEnv, startPictura } from '../support/pictura-process.js'
import { until } from '../support/until.js'

/**
 * Blobs a crash left without their file row (the process died between the
 * put and the commit) go, at start-up and by `pictura sweep`, once older than
 * the crash window; younger ones, blobs with a row and keys not ours stay.
 * The fs store here; blob-store.s3.test.ts does the same on S3.
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
const HOUR = 60 * 60_000

let t: TestEnv
let ws: string
let liveKey: string
before(async () => {
  t = await createTestEnv({ ORPHAN_BLOB_AGE_MS: String(10 * 60_000) })
  const owner = await newUser(t)
  ws = (await newWorkspace(owner)).id
  const file = await upload(owner.api, ws, Buffer.from('a text file with its row'), 'live.txt')
  liveKey = `${ws}/${file.id}`
  age(liveKey, 2 * HOUR)
})
after(() => t.close())

/** A blob stored as an upload stores it, with no row: what a crash between the two leaves. */
async function orphan(ageMs = 0, key = `${ws}/${newId('fil')}`): Promise<string> {
  await t.c.blobs.put(key, Readable.from([Buffer.from(`orphan ${key}`)]), { maxBytes: 1000 })
  if (ageMs > 0) age(key, ageMs)
  return key
}

function age(key: string, ms: number): void {
  const when = new Date(Date.now() - ms)
  utimesSync(path.join(t.dataDir, 'blobs', key), when, when)
}

/** On the disk (the container's store keeps small recent blobs in memory too). */
const exists = async (key: string) => existsSync(path.join(t.dataDir, 'blobs', key))

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: childEnv({ ...t.env, LOG_LEVEL: 'info' }),
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d) => {
      stdout += d
    })
    proc.stderr.on('data', (d) => {
      stderr += d
    })
    proc.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

test('pictura sweep removes an old orphan blob and spares a fresh one, the live one and foreign keys', async () => {
  const old = await orphan(HOUR)
  const fresh = await orphan()
  const foreign = await orphan(2 * HOUR, 'backups/readme')

  const dry = await runCli(['sweep', '--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /would remove 1 orphans/)
  assert.ok(await exists(old), 'a dry run removes nothing')

  const run = await runCli(['sweep'])
  assert.equal(run.code, 0, run.stderr)
  assert.match(
    run.stdout,
    /Swept \d+ blobs: 1 with their file, 1 not ours .*1 without a file but within .* removed 1 orphans/,
  )
  const removals = run.stderr.split('\n').filter((line) => line.includes('removed orphan blob'))
  assert.equal(removals.length, 1, run.stderr)
  assert.ok(removals[0]!.includes(old), run.stderr)
  assert.equal(await exists(old), false, 'the old orphan is gone')
  assert.ok(await exists(fresh), 'an orphan within the crash window stays')
  assert.ok(await exists(liveKey), 'a blob with its row stays')
  assert.ok(await exists(foreign), 'a key not ours stays')
})

test('serve removes old orphan blobs at start-up, in the background', async () => {
  const old = await orphan(HOUR)
  const fresh = await orphan()
  const server = await startPictura(
    'serve',
    childEnv({ ...t.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
  )
  try {
    await until(async () => !(await exists(old)), {
      timeoutMs: 30_000,
      what: () => `the orphan to go:\n${server.output()}`,
    })
    assert.ok(await exists(fresh))
    assert.ok(await exists(liveKey))
    const health = await fetch(`${server.base}/healthz`)
    assert.equal(health.status, 200)
  } finally {
    assert.equal(await server.stop(), 0)
  }
  assert.match(server.output(), /orphan blobs swept/)
})
