import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, beforeEach, test } from 'node:test'
import { createClient, PicturaError } from '../../client/index.js'

/**
 * Retries, against a tiny local HTTP stub that answers from a script: 503
 * or 429 then 200, a dropped connection, a long Retry-After. Idempotent calls
 * are retried with backoff and Retry-After; others never.
 */

type Step = 'drop' | { status: number; retryAfter?: string; body?: unknown }
let script: Step[] = []
const seen: { method: string; url: string; at: number }[] = []
let base: string
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume()
  req.on('end', () => {
    seen.push({ method: String(req.method), url: String(req.url), at: Date.now() })
    const step = script.shift() ?? { status: 200 }
    if (step === 'drop') {
      req.socket.destroy()
      return
    }
    const body =
      step.body ??
      (step.status < 400
        ? {
            id: 'usr_x',
            email: 'admin@localhost',
            name: null,
            role: 'admin',
            createdAt: '2026-12-04T00:00:00.000Z',
          }
        : { error: { code: step.status === 429 ? 'rate_limited' : 'unavailable', message: 'Not now' } })
    res.writeHead(step.status, {
      'content-type': 'application/json',
      ...(step.retryAfter === undefined ? {} : { 'retry-after': step.retryAfter }),
    })
    res.end(JSON.stringify(body))
  })
})

before(async () => {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => server.close())
beforeEach(() => {
  script = []
  seen.length = 0
})

const client = (retry?: Parameters<typeof createClient>[0]['retry']) =>
  createClient({ baseUrl: base, token: 'pic_stub', retry: retry ?? { minDelayMs: 20, maxDelayMs: 100 } })

test('a GET answered 503 with Retry-After: 1, then 200, succeeds after waiting the second', async () => {
  script = [{ status: 503, retryAfter: '1' }, { status: 200 }]
  const started = Date.now()
  const me = await client().me()
  assert.equal(me.email, 'admin@localhost')
  assert.equal(seen.length, 2)
  assert.ok(seen[1]!.at - seen[0]!.at >= 950, `waited ${seen[1]!.at - seen[0]!.at} ms`)
  assert.ok(Date.now() - started < 5_000)
})

test('429s and dropped connections are retried with backoff for GET, PUT and DELETE', async () => {
  script = [{ status: 429, retryAfter: '0' }, 'drop', { status: 503 }, { status: 200 }]
  await client().me()
  assert.equal(seen.length, 4)
  script = ['drop', { status: 200, body: { success: true } }]
  assert.deepEqual(await client().workspaces.delete('ws_x'), { success: true })
  script = [
    { status: 503, retryAfter: '0' },
    { status: 200, body: { userId: 'usr_x', role: 'viewer' } },
  ]
  await client().workspaces.members.put('ws_x', 'usr_x', 'viewer')
  assert.deepEqual(
    seen.map((s) => s.method),
    ['GET', 'GET', 'GET', 'GET', 'DELETE', 'DELETE', 'PUT', 'PUT'],
  )
})

test('a POST is never retried: 503, a dropped connection and an upload fail at once', async () => {
  script = [{ status: 503, retryAfter: '0' }]
  const unavailable = await client()
    .workspaces.create({ name: 'x' })
    .catch((e: unknown) => e)
  assert.ok(unavailable instanceof PicturaError)
  assert.equal(unavailable.status, 503)
  assert.equal(unavailable.code, 'unavailable')
  assert.equal(unavailable.retryAfterMs, 0)
  assert.equal(unavailable.transient, true)
  script = ['drop']
  const dropped = await client()
    .uploadFile(new Blob(['bytes']), { workspaceId: 'ws_x' })
    .catch((e: unknown) => e)
  assert.ok(dropped instanceof PicturaError)
  assert.equal(dropped.code, 'network_error')
  assert.deepEqual(
    seen.map((s) => s.method),
    ['POST', 'POST'],
  )
})

test('retries stop: after the last attempt, on a Retry-After beyond the limit, and with retry: false', async () => {
  script = Array.from({ length: 10 }, () => ({ status: 503 }))
  const exhausted = await client({ retries: 2, minDelayMs: 10 })
    .me()
    .catch((e: unknown) => e)
  assert.ok(exhausted instanceof PicturaError && exhausted.status === 503)
  assert.equal(seen.length, 3)

  seen.length = 0
  script = [{ status: 429, retryAfter: '3600' }]
  const tooLong = await client()
    .me()
    .catch((e: unknown) => e)
  assert.ok(tooLong instanceof PicturaError && tooLong.code === 'rate_limited')
  assert.equal(tooLong.retryAfterMs, 3_600_000)
  assert.equal(seen.length, 1)

  seen.length = 0
  script = [{ status: 503 }]
  await assert.rejects(client(false).me(), (e: unknown) => e instanceof PicturaError && e.status === 503)
  assert.equal(seen.length, 1)
})

test('an answer that is not the API’s envelope is an unexpected_response with its status', async () => {
  script = [{ status: 502, body: '<html>Bad gateway</html>' }]
  const err = await client()
    .me()
    .catch((e: unknown) => e)
  assert.ok(err instanceof PicturaError)
  assert.equal(err.status, 502)
  assert.equal(err.code, 'unexpected_response')
  assert.match(err.message, /502/)
})
