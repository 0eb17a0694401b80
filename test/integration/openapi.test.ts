import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import SwaggerParser from '@apidevtools/swagger-parser'
import { client } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

type Operation = {
  operationId?: string
  description?: string
  tags?: string[]
  security?: unknown[]
  responses?: Record<string, { description?: string }>
}
type Doc = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  security?: unknown[]
  servers?: { url: string }[]
  tags?: { name: string; description?: string }[]
  components: { schemas: Record<string, unknown> }
}

const ROOT = path.resolve(import.meta.dirname, '../..')

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

test('every operation is named, described, tagged and its answers described; servers and tags head the document', async () => {
  const doc = await fetchDoc()
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ where: `${method} ${path}`, op })),
  )
  const ids = ops.map(({ op }) => op.operationId)
  assert.ok(
    ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)),
    JSON.stringify(ids),
  )
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  assert.equal(doc.paths['/api/files/{id}/content']?.head?.operationId, 'headFile')
  const tags = new Set(doc.tags?.map((tag) => tag.name))
  for (const { where, op } of ops) {
    assert.ok(op.description, `${where} has a description`)
    assert.ok(
      op.tags?.every((tag) => tags.has(tag)),
      `${where}: its tags are declared`,
    )
    for (const [status, response] of Object.entries(op.responses ?? {}))
      assert.ok(
        response.description && response.description !== 'Default Response',
        `${where} ${status}: ${response.description}`,
      )
  }
  assert.deepEqual(
    doc.servers?.map((s) => s.url),
    [t.c.config.publicUrl],
  )
  // One PageInfo, referenced by every list.
  const text = JSON.stringify(doc)
  assert.ok(doc.components.schemas.PageInfo)
  assert.equal(text.match(/"hasPreviousPage":\{/g)?.length, 1, 'pageInfo is written once')
  assert.equal(text.match(/#\/components\/schemas\/PageInfo/g)?.length, 6)
})

test('the document passes Spectral (spectral:oas) with no error and only the warnings the README justifies', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-spectral-'))
  try {
    const file = path.join(dir, 'openapi.json')
    writeFileSync(file, JSON.stringify(await fetchDoc()))
    const bin = path.join(ROOT, 'node_modules/@stoplight/spectral-cli/dist/index.js')
    const args = [
      bin,
      'lint',
      file,
      '--ruleset',
      path.join(ROOT, '.spectral.yaml'),
      '--format',
      'json',
      '--quiet',
    ]
    // Spectral exits 1 when it finds errors: the findings decide, not the exit code.
    const out = await promisify(execFile)(process.execPath, args, { cwd: dir }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    )
    const findings = JSON.parse(out.stdout || '[]') as { code: string; severity: number; path: string[] }[]
    // Severity 0 is an error, 1 a warning. info-contact: a self-hosted deployment has no one contact (README).
    const JUSTIFIED = new Set(['info-contact'])
    assert.ok(
      findings.some((f) => f.code === 'info-contact'),
      `Spectral ran and reported: ${out.stdout}`,
    )
    assert.deepEqual(
      findings.filter((f) => f.severity === 0 || (f.severity === 1 && !JUSTIFIED.has(f.code))),
      [],
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('GET /docs serves the interactive reference, under Pictura’s name and logo, without a token', async () => {
  const res = await t.app.inject({ url: '/docs/' })
  const page = res.statusCode === 302 ? await t.app.inject({ url: String(res.headers.location) }) : res
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /<title>Pictura API<\/title>/)
  assert.match(page.body, /favicon\.svg/)
  const init = await t.app.inject({ url: '/docs/static/swagger-initializer.js' })
  const logo = /img\.src = 'data:image\/svg\+xml;base64,([^']+)'/.exec(init.body)?.[1]
  assert.match(Buffer.from(logo ?? '', 'base64').toString(), />Pictura<\/text>/)
  assert.match(init.body, /"deepLinking":true/)
  const json = await t.app.inject({ url: '/docs/json' })
  assert.equal(json.statusCode, 200)
  assert.deepEqual(json.json().paths, (await fetchDoc()).paths)
})
