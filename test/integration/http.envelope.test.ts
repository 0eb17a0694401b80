import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestEnv, type TestEnv } from '../harness.js'

/**
 * What Node's HTTP parser and Fastify answer before any route runs follows
 * the error envelope of API.md too. Raw sockets: no HTTP client would send
 * these requests.
 */

let t: TestEnv
let port: number
before(async () => {
  t = await createTestEnv({ HEADERS_TIMEOUT_MS: '500' })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  port = typeof address === 'object' && address ? address.port : 0
})
after(() => t.close())

interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** Writes `chunks` on a fresh socket (the last one left open unless `end`), and reads the answer until close. */
function raw(chunks: (string | Buffer)[], options: { end?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const received: Buffer[] = []
    socket.on('data', (d) => received.push(d))
    socket.on('error', (err) => {
      // A server that answers then resets a connection still sending is fine; the answer was read.
      if (received.length === 0) reject(err)
    })
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('latin1')
      const [head = '', ...rest] = text.split('\r\n\r\n')
      const [statusLine = '', ...headerLines] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const i = line.indexOf(':')
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') })
    })
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk)
      if (options.end) socket.end()
    })
  })
}

function assertEnvelope(answer: RawAnswer, status: number, code = 'invalid_request') {
  assert.equal(answer.status, status, JSON.stringify(answer))
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/)
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } }
  assert.deepEqual(Object.keys(body), ['error'])
  assert.equal(body.error.code, code)
  assert.ok(body.error.message.length > 0)
  assert.doesNotMatch(answer.body, /statusCode|FST_|HPE_|\bat \//, 'nothing of Node or Fastify leaks')
}

test('a 100 KB header answers 431 in the envelope', async () => {
  const big = `x-big: ${'a'.repeat(100_000)}\r\n`
  assertEnvelope(await raw([`GET /api/me HTTP/1.1\r\nHost: x\r\n${big}\r\n`]), 431)
})

test('a header over the limit sent in pieces still answers 431', async () => {
  const answer = await raw([
    'GET /api/me HTTP/1.1\r\nHost: x\r\n',
    ...Array.from({ length: 40 }, (_, i) => `x-h${i}: ${'b'.repeat(1000)}\r\n`),
    '\r\n',
  ])
  assertEnvelope(answer, 431)
})

test('a 100 KB URL answers 414 in the envelope', async () => {
  assertEnvelope(await raw([`GET /api/images?q=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`]), 414)
})

test('a path parameter over the router’s limit answers 414 in the envelope', async () => {
  const answer = await raw([
    `GET /api/images/${'i'.repeat(500)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  ])
  assertEnvelope(answer, 414)
})

test('a URL the router cannot decode answers 400 in the envelope', async () => {
  const answer = await raw(['GET /api/images/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
  assertEnvelope(answer, 400)
})

test('bytes that are not HTTP answer 400 in the envelope', async () => {
  assertEnvelope(await raw(['HELLO THERE\r\n\r\n']), 400)
  assertEnvelope(await raw(['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n']), 400)
})

test('headers that never finish answer 408 in the envelope (slowloris)', async () => {
  assertEnvelope(await raw(['GET /api/me HTTP/1.1\r\nHost: x\r\nx-slow: 1\r\n']), 408)
})

test('an aborted request leaves the server serving', async () => {
  // A body promised and cut off mid-way, then a half-sent request line.
  await raw(['POST /api/files?workspace_id=ws_x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc'], {
    end: true,
  })
  await raw(['GET /api/im'], { end: true })
  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  assert.equal(res.status, 200)
})

test('an unknown route and a JSON body that does not parse answer in the envelope', async () => {
  const missing = await fetch(`http://127.0.0.1:${port}/nope`)
  assert.equal(missing.status, 404)
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found')
  const bad = await fetch(`http://127.0.0.1:${port}/api/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
    body: '{"name":',
  })
  assert.equal(bad.status, 400)
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_request')
})

test('a request that arrives while the server closes answers 503 unavailable with Retry-After', async () => {
  const auth = `Authorization: Bearer ${t.adminToken}\r\n`
  const ws = (await (
    await fetch(`http://127.0.0.1:${port}/api/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: '{"name":"closing"}',
    })
  ).json()) as { id: string }
  // An upload in flight when the close begins, and a request pipelined behind it that arrives during the drain.
  const socket = connect(port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  const received: Buffer[] = []
  socket.on('data', (d) => received.push(d))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.write(
    `POST /api/files?workspace_id=${ws.id} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\n12345`,
  )
  await sleep(200)
  const closing = t.app.close()
  await sleep(200)
  socket.write(`67890GET /api/me HTTP/1.1\r\nHost: x\r\n${auth}\r\n`)
  await closing
  await closed
  const text = Buffer.concat(received).toString('latin1')
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]))
  assert.deepEqual(statuses, [201, 503], text)
  const last = text.slice(text.lastIndexOf('HTTP/1.1 503'))
  const [head = '', body = ''] = last.split('\r\n\r\n')
  assert.match(head, /retry-after: 1/i)
  assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'unavailable')
})
