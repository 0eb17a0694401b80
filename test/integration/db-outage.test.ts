import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import sharp from 'sharp'
import { expectError } from '../expect.js'
import { client, newWorkspace, upload } from '../factories.js'
import { createTestEnv, DB_KIND, type TestEnv } from '../harness.js'
import { childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'
import { type PostgresServer, startPostgres } from '../support/postgres-server.js'
import { until } from '../support/until.js'

/**
 * Database outages are answered, never fatal. On PostgreSQL (a throwaway
 * server of this file's own, never the shared one): the server is stopped
 * (immediate shutdown, as a crash) and frozen (SIGSTOP) under uploads and
 * reads, with one API process and with two; the API process stays up and
 * answers `503 unavailable` with `Retry-After` in the envelope, /readyz says
 * 503, the worker says once per outage it meets that it paused, and once the database
 * is back every upload answered 201 ends ready with exactly one image, with
 * no restart. A `serve` started while the database is down waits for it. On
 * SQLite: a write lock held by another connection past the busy timeout
 * answers the same 503.
 */

/** Short timeouts, so an outage is answered quickly; a client gives up on an answer only after GUARD_MS. */
const TIMEOUT_MS = 1500
const GUARD_MS = 15_000
const DOWN_MS = 3000

if (DB_KIND === 'postgres') {
  let server: PostgresServer
  const dirs: string[] = []
  const started: PicturaProcess[] = []

  before(async () => {
    // Commits durable at once: the crash (immediate stop) must not take back what was acknowledged.
    server = await startPostgres({ settings: ['synchronous_commit=on'] })
  })
  after(async () => {
    for (const p of started) if (p.proc.exitCode === null) p.proc.kill('SIGKILL')
    await server?.destroy()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  /** A fresh schema on the throwaway server, a data folder and the env of a `serve` on them. */
  const deployment = async (extra: Record<string, string> = {}) => {
    const schema = `s_${randomBytes(4).toString('hex')}`
    const setup = new pg.Client({ connectionString: server.url })
    await setup.connect()
    await setup.query(`create schema ${schema}`)
    await setup.end()
    const dataDir = mkdtempSync(path.join(tmpdir(), 'pictura-outage-'))
    dirs.push(dataDir)
    const url = `${server.url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
    const token = `pic_${randomBytes(18).toString('base64url')}`
    const env = childEnv({
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      BOOTSTRAP_ADMIN_TOKEN: token,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '0',
      DB_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS),
      // A job whose failure could not be recorded during the outage comes back when its lease runs out.
      JOB_LEASE_MS: '3000',
      ...extra,
    })
    return { url, token, env }
  }

  describe('PostgreSQL stopped and frozen under load', () => {
    test('one API process: 503 unavailable while down, every 201 upload ends ready once, no restart', async () => {
      const { url, token, env } = await deployment()
      const serve = await startPictura('serve', env)
      started.push(serve)
      await outageUnderLoad(serve, token, url, [serve.proc.pid!])
    })

    test('API_PROCESSES=2: the same, and neither API process is restarted', async () => {
      const { url, token, env } = await deployment({ API_PROCESSES: '2' })
      const serve = await startPictura('serve', env)
      started.push(serve)
      const children = childrenOf(serve.proc.pid!)
      assert.equal(children.length, 2)
      await outageUnderLoad(serve, token, url, children)
      assert.deepEqual(childrenOf(serve.proc.pid!), children, 'the same two API processes')
      assert.doesNotMatch(serve.output(), /an API process exited/)
    })

    test('serve started while the database is down waits for it, says so once, then serves', async () => {
      const { token, env } = await deployment()
      await server.stop('fast')
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      proc.stdout.on('data', (d) => {
        out += d
      })
      proc.stderr.on('data', (d) => {
        out += d
      })
      try {
        await until(async () => /does not answer; waiting for it/.test(out) || proc.exitCode !== null, {
          timeoutMs: 180_000,
          what: () => `serve said it waits: ${out}`,
        })
        assert.equal(proc.exitCode, null, out)
        // Down a little longer: several attempts, still one line.
        await sleep(2000)
        await server.start()
        const listening = await until(async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], {
          timeoutMs: 60_000,
          what: () => `serve started once the database was up: ${out}`,
        })
        assert.equal(out.match(/does not answer; waiting for it/g)?.length, 1, out)
        const me = await fetch(`${listening}/api/me`, { headers: { authorization: `Bearer ${token}` } })
        assert.equal(me.status, 200)
        assert.equal((await fetch(`${listening}/readyz`)).status, 200)
      } finally {
        proc.kill('SIGKILL')
      }
    })
  })

  /**
   * Uploads and reads run while the database is stopped for DOWN_MS, then
   * frozen for DOWN_MS. `pids`: the API processes, which must all survive.
   */
  async function outageUnderLoad(serve: PicturaProcess, token: string, url: string, pids: number[]) {
    const base = serve.base
    const ws = await call(base, token, 'POST', '/api/workspaces', { name: 'outage' })
    assert.equal(ws.status, 201)
    const wsId = ws.body.id as string
    const images = await distinctPngs(400)
    const outcomes: Outcome[] = []
    let running = true
    let next = 0
    const loop = async () => {
      while (running && next < images.length) {
        const bytes = images[next++]!
        outcomes.push(await call(base, token, 'POST', `/api/files?workspace_id=${wsId}&name=p.png`, bytes))
        outcomes.push(await call(base, token, 'GET', `/api/files?workspace_id=${wsId}&limit=5`))
        outcomes.push(await call(base, token, 'GET', `/api/images?workspace_id=${wsId}&limit=5`))
      }
    }
    const load = Promise.all([loop(), loop(), loop()])
    await sleep(1000)

    // Stopped, as by a crash: refused connections for DOWN_MS.
    await server.stop('immediate')
    await expectDown(base, token, wsId)
    await sleep(DOWN_MS)
    await server.start()
    await expectUp(base)
    await sleep(1000)

    // Frozen: connections open, nothing answers.
    server.pause()
    try {
      await expectDown(base, token, wsId)
      await sleep(DOWN_MS)
    } finally {
      server.resume()
    }
    await expectUp(base)
    await sleep(1000)
    running = false
    await load

    for (const pid of pids) assert.ok(alive(pid), `API process ${pid} is still up:\n${serve.output()}`)
    assert.equal(serve.proc.exitCode, null, serve.output())
    assert.doesNotMatch(serve.output(), /Unhandled|uncaught/i)
    // Every answer is a success or the envelope's 503 with Retry-After: no 500, no reset, no hang.
    const bad = outcomes.filter((o) => !(o.status < 300 || isUnavailable(o)))
    assert.deepEqual(bad, [], 'only successes and 503 unavailable')
    assert.ok(
      outcomes.some((o) => o.status === 503),
      'some requests of the load met the outage',
    )

    // Every upload answered 201 ends ready, with exactly one image.
    const uploaded = outcomes.filter((o) => o.status === 201).map((o) => o.body.id as string)
    assert.ok(uploaded.length >= 3, `uploads went through before and after (${uploaded.length})`)
    const check = new pg.Client({ connectionString: url })
    await check.connect()
    try {
      let jobs: unknown[] = []
      const rows = await until(
        async () => {
          const { rows } = await check.query<{ id: string; image_status: string; images: string }>(
            `select f.id, f.image_status, (select count(*) from images i where i.file_id = f.id) as images
             from files f where f.id = any($1)`,
            [uploaded],
          )
          jobs = [
            `${rows.length} of ${uploaded.length} rows`,
            rows.filter((r) => r.image_status === 'pending'),
            (await check.query('select * from jobs')).rows,
          ]
          return rows.length === uploaded.length && rows.every((r) => r.image_status !== 'pending') && rows
        },
        {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: () =>
            `every acknowledged upload settled; jobs: ${JSON.stringify(jobs).slice(0, 2000)}\n${serve.output().slice(-6000)}`,
        },
      )
      assert.deepEqual(
        rows.filter((r) => r.image_status !== 'ready' || Number(r.images) !== 1),
        [],
        'each acknowledged upload ready, with one image',
      )
      const failed = await check.query(`select id, last_error from jobs where state = 'failed'`)
      assert.deepEqual(failed.rows, [])
    } finally {
      await check.end()
    }
    // The worker said so once per outage it met, and once each time the database came back (at its next
    // claim, up to its longest backoff later): not once per attempt. Its claims back off up to 5 s, longer
    // than the database is up between the two outages here, so it may meet them as one.
    const said = (what: RegExp) => serve.output().match(what)?.length ?? 0
    const paused = said(/job claims paused/g)
    assert.ok(paused >= 1 && paused <= 2, `paused once per outage it met (${paused}):\n${serve.output()}`)
    await until(async () => said(/job claims resumed/g) >= paused, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: () => `the worker said it resumed as often as it paused (${paused}):\n${serve.output()}`,
    })
    // Requests failing alike: a line every 10 s per process (the others at debug), not one each.
    assert.ok(said(/try again later/g) <= 4 * pids.length, serve.output())
    assert.equal(said(/job claims paused/g), paused, serve.output())
    assert.equal(said(/job claims resumed/g), paused, serve.output())
  }

  /** While the database is down: /readyz 503, and a request that needs it the envelope's 503 with Retry-After. */
  async function expectDown(base: string, token: string, wsId: string) {
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(GUARD_MS) })
    assert.equal(ready.status, 503)
    assert.deepEqual(await ready.json(), { status: 'unavailable' })
    const list = await call(base, token, 'GET', `/api/files?workspace_id=${wsId}`)
    assert.ok(isUnavailable(list), JSON.stringify(list))
  }

  /** Once the database is back, /readyz says so (without a restart). */
  async function expectUp(base: string) {
    await until(
      async () => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(GUARD_MS) })).status === 200,
      { timeoutMs: 30_000, intervalMs: 100, what: () => '/readyz 200 once the database is back' },
    )
  }
} else {
  describe('SQLite held by another writer', () => {
    let t: TestEnv
    before(async () => {
      t = await createTestEnv({ DB_STATEMENT_TIMEOUT_MS: '300' })
    })
    after(() => t.close())

    test('a write that waits past the busy timeout answers 503 unavailable; reads go on', async () => {
      const api = client(t, t.adminToken)
      const ws = await newWorkspace({ api })
      const other = new SQLite(path.join(t.dataDir, 'pictura.db'))
      try {
        other.exec('begin immediate')
        const created = await api.post('/api/workspaces', { name: 'locked out' })
        expectError(created, 503, 'unavailable')
        assert.equal(created.headers['retry-after'], '5')
        const png = (await distinctPngs(1))[0]!
        const octets = { 'content-type': 'application/octet-stream' }
        expectError(await api.post(`/api/files?workspace_id=${ws.id}`, png, octets), 503, 'unavailable')
        assert.equal((await api.get(`/api/workspaces/${ws.id}`)).statusCode, 200)
        assert.equal((await api.get(`/api/files?workspace_id=${ws.id}`)).statusCode, 200)
        assert.equal((await t.app.inject({ url: '/readyz' })).statusCode, 200)
      } finally {
        other.exec('rollback')
        other.close()
      }
      assert.equal((await api.post('/api/workspaces', { name: 'free again' })).statusCode, 201)
      const file = await upload(api, ws.id, (await distinctPngs(1))[0]!, 'after.png')
      assert.equal(file.mime, 'image/png')
    })
  })
}

interface Outcome {
  status: number
  body: Record<string, unknown>
  retryAfter: string | null
}

/** One call over HTTP; a failure to get any answer within GUARD_MS is an outcome too (status 0). */
async function call(base: string, token: string, method: string, url: string, body?: Buffer | object) {
  try {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json',
      },
      signal: AbortSignal.timeout(GUARD_MS),
      ...(body === undefined
        ? {}
        : { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }),
    })
    const text = await res.text()
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      retryAfter: res.headers.get('retry-after'),
    }
  } catch (err) {
    return { status: 0, body: { error: String(err), url }, retryAfter: null }
  }
}

const isUnavailable = (o: Outcome) =>
  o.status === 503 &&
  (o.body.error as { code?: string } | undefined)?.code === 'unavailable' &&
  Number(o.retryAfter) > 0

async function distinctPngs(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({
        create: { width: 8 + (i % 7), height: 8, channels: 3, background: { r: i % 256, g: i >> 8, b: 7 } },
      })
        .png()
        .toBuffer(),
    ),
  )
}

/** The child processes of `pid` (a cluster's API processes), from /proc. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
