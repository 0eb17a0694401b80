import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { DB_KIND, freshPostgresUrl } from '../harness.js'

/** The real process, over real HTTP: what an operator sees on first start, restart and shutdown. */

const ROOT = path.resolve(import.meta.dirname, '../..')
const CONFIG_VARS =
  /^(PORT|HOST|DATA_DIR|DATABASE_URL|PUBLIC_URL|BOOTSTRAP_ADMIN_TOKEN|RATE_LIMIT_PER_MINUTE|CORS_ORIGINS|NODE_TEST_CONTEXT)$/

let dataDir: string
let env: Record<string, string>
let dropDb: (() => Promise<void>) | undefined
before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'pictura-cli-'))
  const pgDb = DB_KIND === 'postgres' ? await freshPostgresUrl() : null
  dropDb = pgDb?.drop
  env = {
    ...(Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.test(k))) as Record<
      string,
      string
    >),
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
  }
})
after(async () => {
  await dropDb?.()
  rmSync(dataDir, { recursive: true, force: true })
})

interface Run {
  proc: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function run(args: string[], extraEnv: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (d) => {
    out += d
  })
  proc.stderr!.on('data', (d) => {
    err += d
  })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, stdout: () => out, stderr: () => err, exited }
}

/** Starts `serve` and waits for its banner; answers the base URL it printed. */
async function serve(): Promise<Run & { base: string }> {
  const r = run(['serve'])
  const deadline = Date.now() + 30_000
  let exitCode: number | null | undefined
  void r.exited.then((code) => {
    exitCode = code
  })
  while (!/API reference: /.test(r.stdout())) {
    if (exitCode !== undefined) assert.fail(`serve exited ${exitCode}: ${r.stderr()}`)
    if (Date.now() > deadline) {
      r.proc.kill('SIGKILL')
      assert.fail(`serve did not start: ${r.stdout()} ${r.stderr()}`)
    }
    await sleep(50)
  }
  const m = /Pictura listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(r.stdout())
  assert.ok(m, r.stdout())
  assert.notEqual(Number(m[2]), 0, 'the actual port, not the requested 0')
  return { ...r, base: m[1]! }
}

const TOKEN = /pic_[A-Za-z0-9_-]{16,200}/g

async function me(base: string, token: string) {
  const res = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: (await res.json()) as { email?: string; role?: string } }
}

const stillServing = (base: string) =>
  fetch(`${base}/healthz`).then(
    (res) => res.status === 200,
    () => false,
  )

/** A POST whose body arrives in two halves, so it is still in flight when the signal comes. */
function slowPost(base: string, token: string, body: string) {
  const url = new URL('/api/workspaces', base)
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
  })
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = ''
      res.on('data', (d) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode!, body: text }))
    })
    req.on('error', reject)
  })
  const half = Math.floor(body.length / 2)
  req.write(body.slice(0, half))
  return { finish: () => req.end(body.slice(half)), answered }
}

test('first start prints where it listens and a working admin token; SIGTERM lets a request finish, exits 0', async () => {
  const server = await serve()
  const tokens = server.stdout().match(TOKEN) ?? []
  assert.ok(tokens.length >= 1, server.stdout())
  const token = tokens[0]!
  assert.ok(
    tokens.every((t) => t === token),
    'one token, printed for copy and paste',
  )
  const who = await me(server.base, token)
  assert.equal(who.status, 200)
  assert.equal(who.body.email, 'admin@localhost')
  assert.equal(who.body.role, 'admin')
  assert.equal((await fetch(`${server.base}/healthz`)).status, 200)

  const inflight = slowPost(server.base, token, JSON.stringify({ name: 'Made during shutdown' }))
  await sleep(300)
  server.proc.kill('SIGTERM')
  // Shutdown has begun (no new requests served) while the POST is still open.
  for (let i = 0; await stillServing(server.base); i++) {
    assert.ok(i < 200, 'the server stops taking requests after SIGTERM')
    await sleep(25)
  }
  inflight.finish()
  const answer = await inflight.answered
  assert.equal(answer.status, 201, answer.body)
  assert.equal(JSON.parse(answer.body).name, 'Made during shutdown')
  assert.equal(await server.exited, 0, server.stderr())
  await assert.rejects(fetch(`${server.base}/healthz`), 'the port is closed after exit')

  // A second start on the same data prints no new token; the first one still works.
  const again = await serve()
  try {
    assert.deepEqual(again.stdout().match(TOKEN), null, again.stdout())
    assert.match(again.stdout(), /token create --admin/)
    assert.equal((await me(again.base, token)).status, 200)
    const list = await fetch(`${again.base}/api/workspaces`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.deepEqual(
      ((await list.json()) as { data: { name: string }[] }).data.map((w) => w.name),
      ['Made during shutdown'],
    )

    // `token create --admin` mints another working admin token, while the server runs.
    const cli = run(['token', 'create', '--admin'])
    assert.equal(await cli.exited, 0, cli.stderr())
    const minted = cli.stdout().match(TOKEN)
    assert.equal(minted?.length, 1, cli.stdout())
    assert.notEqual(minted[0], token)
    const viaCli = await me(again.base, minted[0])
    assert.equal(viaCli.status, 200)
    assert.equal(viaCli.body.role, 'admin')
  } finally {
    again.proc.kill('SIGTERM')
    assert.equal(await again.exited, 0, again.stderr())
  }
})

test('a bad configuration stops start-up with a message naming the variable', async () => {
  const r = run(['serve'], { PORT: 'abc', LOG_LEVEL: 'loud' })
  assert.equal(await r.exited, 2)
  assert.match(r.stderr(), /PORT="abc"/)
  assert.match(r.stderr(), /LOG_LEVEL="loud"/)
  assert.equal(r.stdout(), '')
})
