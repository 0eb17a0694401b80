import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { blobFiles, fileRows, newUser, newWorkspace, tmpFiles } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

/**
 * Uploads through a real server process over loopback HTTP, measuring that
 * process's memory: a 1 GiB body must stream to disk, not through the heap.
 */

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const REPO = path.resolve(import.meta.dirname, '../..')
const MAX_RSS_GROWTH = 100 * MiB

let t: TestEnv
let user: Awaited<ReturnType<typeof newUser>>
let ws: { id: string }
const servers: ChildProcess[] = []
let roomy: Server
let tight: Server
const TIGHT_LIMIT = 512 * MiB

before(async () => {
  t = await createTestEnv()
  user = await newUser(t)
  ws = await newWorkspace(user)
  // Started together: a server takes seconds to boot under tsx on a busy machine.
  ;[roomy, tight] = await Promise.all([startServer(2 * GiB), startServer(TIGHT_LIMIT)])
})
after(async () => {
  for (const child of servers) await stop(child)
  await t.close()
})

interface Server {
  child: ChildProcess
  base: string
}

/** `pictura serve` on the test's database and DATA_DIR, on a free port. */
async function startServer(maxUploadBytes: number): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: REPO,
    env: { ...process.env, ...t.env, PORT: '0', MAX_UPLOAD_BYTES: String(maxUploadBytes), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  servers.push(child)
  const base = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)))
  })
  child.stdout!.resume()
  return { child, base }
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** The child's resident memory, sampled from /proc while `work` runs. */
async function measureRss<T>(pid: number, work: () => Promise<T>) {
  const read = (field: 'VmRSS' | 'VmHWM') => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return Number(match![1]) * 1024
  }
  const baseline = read('VmRSS')
  let peak = baseline
  const timer = setInterval(() => {
    peak = Math.max(peak, read('VmRSS'))
  }, 20)
  const started = Date.now()
  try {
    const result = await work()
    peak = Math.max(peak, read('VmRSS'))
    return { result, baseline, growth: peak - baseline, hwm: read('VmHWM'), ms: Date.now() - started }
  } finally {
    clearInterval(timer)
  }
}

/** `size` bytes made on the fly from one reused 1 MiB block, hashed as they go: never held in memory. */
function generated(size: number) {
  const block = randomBytes(MiB)
  block.write('pictura streaming test\n', 0)
  const hash = createHash('sha256')
  let left = size
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null)
      const chunk = left >= block.length ? block : block.subarray(0, left)
      left -= chunk.length
      hash.update(chunk)
      this.push(chunk)
    },
  })
  return { stream, digest: () => hash.digest('hex') }
}

/** POSTs a stream; resolves with the answer even when it comes before the body is sent (early 413). */
function upload(base: string, body: Readable | null, headers: Record<string, string>) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = http.request(`${base}/api/files?workspace_id=${ws.id}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.token}`,
        'content-type': 'application/octet-stream',
        ...headers,
      },
    })
    let answered = false
    req.on('response', (res) => {
      answered = true
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        text += chunk
      })
      res.on('end', () => {
        body?.unpipe(req)
        body?.destroy()
        req.destroy()
        resolve({ status: res.statusCode!, json: JSON.parse(text) })
      })
    })
    req.on('error', (err) => {
      if (!answered) reject(err)
    })
    if (body) body.pipe(req)
    else req.flushHeaders()
  })
}

test('a 1 GiB upload streams through a real server with bounded memory', async () => {
  const server = roomy
  const warmUp = await upload(server.base, Readable.from([randomBytes(MiB)]), {
    'content-length': String(MiB),
  })
  assert.equal(warmUp.status, 201)

  const body = generated(GiB)
  const measured = await measureRss(server.child.pid!, () =>
    upload(server.base, body.stream, { 'content-length': String(GiB) }),
  )
  const file = measured.result.json as { id: string; size: number; sha256: string; mime: string }
  assert.equal(measured.result.status, 201, JSON.stringify(file))
  assert.equal(file.size, GiB)
  assert.equal(file.sha256, body.digest())
  assert.equal(file.mime, 'application/octet-stream')
  assert.equal(statSync(path.join(t.dataDir, 'blobs', ws.id, file.id)).size, GiB)
  assert.deepEqual(tmpFiles(t), [])
  console.log(
    `1 GiB upload (${t.env.DATABASE_URL ? 'postgres' : 'sqlite'}): ${measured.ms} ms, ` +
      `${Math.round(GiB / MiB / (measured.ms / 1000))} MiB/s; server RSS ${mib(measured.baseline)} -> peak +${mib(measured.growth)}, VmHWM ${mib(measured.hwm)}`,
  )
  assert.ok(measured.growth < MAX_RSS_GROWTH, `RSS grew by ${mib(measured.growth)}`)
  await stop(server.child)
})

test('the same upload over the limit answers 413 and leaves nothing behind', async () => {
  const server = tight
  const rowsBefore = (await fileRows(t, ws.id)).length
  const blobsBefore = blobFiles(t).length

  // Declared too large: refused on the headers, before a byte of the body is sent.
  const declared = await upload(server.base, null, { 'content-length': String(GiB) })
  assert.equal(declared.status, 413)
  assert.equal((declared.json.error as { code: string }).code, 'payload_too_large')

  // Chunked, no length: counted while streaming and cut just past the limit.
  const measured = await measureRss(server.child.pid!, () =>
    upload(server.base, generated(GiB).stream, { 'transfer-encoding': 'chunked' }),
  )
  assert.equal(measured.result.status, 413, JSON.stringify(measured.result.json))
  assert.equal((measured.result.json.error as { code: string }).code, 'payload_too_large')
  console.log(
    `over-limit chunked upload: 413 after ${measured.ms} ms; server RSS peak +${mib(measured.growth)}, VmHWM ${mib(measured.hwm)}`,
  )
  assert.ok(measured.growth < MAX_RSS_GROWTH, `RSS grew by ${mib(measured.growth)}`)
  assert.equal((await fileRows(t, ws.id)).length, rowsBefore, 'no row')
  assert.equal(blobFiles(t).length, blobsBefore, 'no blob')
  assert.deepEqual(tmpFiles(t), [], 'no temp file')
  await stop(server.child)
})

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
