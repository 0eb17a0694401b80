import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { client } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

type Operation = { security?: unknown[]; responses?: Record<string, unknown> }
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; security?: unknown[] }

const fetchDoc = async (): Promise<Doc> => {
  const res = await client(t, null).get('/api/openapi.json')
  assert.equal(res.statusCode, 200, res.body)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  return res.json() as Doc
}

/**
 * Every registered route as [METHOD, path in OpenAPI form], read from the
 * router's own tree (printRoutes), so routes added later are covered too.
 */
function registeredRoutes(): [string, string][] {
  const out: [string, string][] = []
  const stack: string[] = []
  for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line)
    if (!m) continue
    const depth = [...m[1]!].length / 4
    stack.length = depth
    stack.push(m[2]!)
    const path = stack.join('').replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push([method, path])
  }
  return out
}

test('GET /api/openapi.json needs no token and is a valid OpenAPI 3.1 document', async () => {
  const doc = await fetchDoc()
  assert.equal(doc.openapi, '3.1.0')
  // validate() resolves every $ref and checks the document against the 3.1 schema.
  await SwaggerParser.validate(structuredClone(doc) as never)
})

test('every registered /api route is documented, and every documented path is served', async () => {
  const doc = await fetchDoc()
  const routes = registeredRoutes().filter(
    ([method, path]) =>
      path.startsWith('/api/') && path !== '/api/openapi.json' && !['HEAD', 'OPTIONS'].includes(method),
  )
  assert.ok(routes.length >= 15, `the router tree was read: ${JSON.stringify(routes)}`)
  for (const route of [
    ['GET', '/api/me'],
    ['PUT', '/api/workspaces/{id}/members/{user_id}'],
    ['DELETE', '/api/tokens/{id}'],
  ]) {
    assert.ok(
      routes.some(([m, p]) => m === route[0] && p === route[1]),
      `${route.join(' ')} in ${JSON.stringify(routes)}`,
    )
  }
  const missing = routes.filter(([method, path]) => !doc.paths[path]?.[method.toLowerCase()])
  assert.deepEqual(missing, [], 'routes missing from the OpenAPI document')

  const served = new Set(registeredRoutes().map(([m, p]) => `${m} ${p}`))
  const stale = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => !served.has(`${m.toUpperCase()} ${path}`))
      .map((m) => `${m} ${path}`),
  )
  assert.deepEqual(stale, [], 'documented operations that no route serves')
})

test('every /api operation requires the bearer token and documents its 401', async () => {
  const doc = await fetchDoc()
  assert.deepEqual(doc.security, [{ bearer: [] }])
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/')) continue
    for (const [method, op] of Object.entries(ops)) {
      assert.notDeepEqual(op.security, [], `${method} ${path} must not opt out of auth`)
      assert.ok(op.responses?.['401'], `${method} ${path} documents 401`)
    }
  }
  for (const path of ['/healthz', '/readyz']) assert.deepEqual(doc.paths[path]?.get?.security, [])
})

test('GET /docs serves the interactive reference without a token', async () => {
  const res = await t.app.inject({ url: '/docs/' })
  const page = res.statusCode === 302 ? await t.app.inject({ url: String(res.headers.location) }) : res
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /swagger/i)
  const json = await t.app.inject({ url: '/docs/json' })
  assert.equal(json.statusCode, 200)
  assert.deepEqual(json.json().paths, (await fetchDoc()).paths)
})
