import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createContainer } from '../../src/container.js'
import { createLogger } from '../../src/shared/logger.js'
import { expectError } from '../expect.js'
import { client } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

const ORIGIN = 'https://app.example.com'
let t: TestEnv
before(async () => {
  t = await createTestEnv({
    RATE_LIMIT_PER_MINUTE: '3',
    CORS_ORIGINS: `${ORIGIN}, https://admin.example.com`,
  })
})
after(() => t.close())

/** A token of its own per test, so the 3-a-minute limit of one test never leaks into another. */
const freshToken = async () => {
  const me = await t.c.db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .executeTakeFirstOrThrow()
  return (await t.c.tokens.mint(me.id, 'ops')).token
}

describe('operations', () => {
  test('GET /healthz and /readyz answer without a token', async () => {
    const health = await t.app.inject({ url: '/healthz' })
    assert.equal(health.statusCode, 200)
    assert.deepEqual(health.json(), { status: 'ok' })
    const ready = await t.app.inject({ url: '/readyz' })
    assert.equal(ready.statusCode, 200)
    assert.deepEqual(ready.json(), { status: 'ready' })
  })

  test('the 4th request in a minute answers 429 rate_limited with Retry-After, per token', async () => {
    const token = await freshToken()
    const api = client(t, token)
    for (let i = 0; i < 3; i++) assert.equal((await api.get('/api/me')).statusCode, 200, `request ${i + 1}`)
    const limited = await api.get('/api/me')
    expectError(limited, 429, 'rate_limited')
    const retryAfter = Number(limited.headers['retry-after'])
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After ${retryAfter}`,
    )
    expectError(await api.get('/api/workspaces'), 429, 'rate_limited')
    assert.equal(
      (await client(t, await freshToken()).get('/api/me')).statusCode,
      200,
      'another token is not limited',
    )
    assert.equal((await t.app.inject({ url: '/healthz' })).statusCode, 200)
  })

  test('CORS: an allowed origin gets Access-Control-Allow-Origin, another does not', async () => {
    const token = await freshToken()
    const allowed = await client(t, token).get('/api/me', { origin: ORIGIN })
    assert.equal(allowed.statusCode, 200)
    assert.equal(allowed.headers['access-control-allow-origin'], ORIGIN)
    assert.match(String(allowed.headers['access-control-expose-headers']), /Retry-After/)
    const other = await client(t, token).get('/api/me', { origin: 'https://evil.example.com' })
    assert.equal(other.headers['access-control-allow-origin'], undefined)

    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/workspaces',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    })
    assert.ok(preflight.statusCode < 300, preflight.body)
    assert.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/)

    // A browser must be able to read a 401 and a 429 too, or it cannot tell why its call failed.
    const denied = await client(t, null).get('/api/me', { origin: ORIGIN })
    expectError(denied, 401, 'unauthorized')
    assert.equal(denied.headers['access-control-allow-origin'], ORIGIN)
  })

  test('an unknown route answers 404 in the error envelope', async () => {
    expectError(await t.app.inject({ url: '/nope' }), 404, 'not_found')
    expectError(await client(t, await freshToken()).get('/api/nope'), 404, 'not_found')
    expectError(await t.app.inject({ method: 'POST', url: '/healthz' }), 404, 'not_found')
  })

  test('x-request-id is echoed when given, generated otherwise', async () => {
    const given = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-42.a:b' } })
    assert.equal(given.headers['x-request-id'], 'trace-42.a:b')
    const made = await t.app.inject({ url: '/healthz' })
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f]{20}-[0-9a-z]+$/)
    const again = await t.app.inject({ url: '/healthz' })
    assert.notEqual(again.headers['x-request-id'], made.headers['x-request-id'])
    const unsafe = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0001' } })
    assert.match(String(unsafe.headers['x-request-id']), /^[0-9a-f]{20}-[0-9a-z]+$/)
    const onError = await client(t, null).get('/api/me', { 'x-request-id': 'err-1' })
    assert.equal(onError.statusCode, 401)
    assert.equal(onError.headers['x-request-id'], 'err-1')
  })
})

describe('operations: unexpected errors', () => {
  test('an unexpected error answers a generic 500 internal, no stack, no message, and is logged with its request id', async () => {
    // A second node on the same database, logging into `lines`, with routes that fail the ways a bug would.
    const lines: Record<string, unknown>[] = []
    const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) })
    const c = await createContainer(loadConfig(t.env), log, { migrate: false })
    const app = await buildApp(c)
    app.get('/api/boom', async () => {
      throw new Error('secret: connection string postgres://user:pw@db/x')
    })
    app.get('/boom-sync', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'id')")
    })
    app.get('/boom-value', async () => {
      throw 'a string, not an Error'
    })
    await app.ready()
    try {
      const token = await freshToken()
      for (const [url, headers] of [
        ['/api/boom', { authorization: `Bearer ${token}` }],
        ['/boom-sync', {}],
        ['/boom-value', {}],
      ] as const) {
        const res = await app.inject({ url, headers: { ...headers, 'x-request-id': 'req-500' } })
        assert.equal(res.statusCode, 500, res.body)
        assert.deepEqual(res.json(), { error: { code: 'internal', message: 'Internal server error' } })
        assert.doesNotMatch(res.body, /secret|postgres|stack|TypeError|\.ts:\d+|at /)
        assert.equal(res.headers['x-request-id'], 'req-500')
      }
      const errors = lines.filter((l) => l.level === 50)
      assert.equal(errors.length, 3)
      for (const line of errors) {
        assert.equal(line.reqId, 'req-500')
        assert.equal(line.msg, 'unhandled error')
        assert.ok(line.err, 'the error itself is logged')
      }
      assert.match(JSON.stringify(errors[0]!.err), /secret: connection string/)
    } finally {
      await app.close()
      await c.close()
    }
  })
})
