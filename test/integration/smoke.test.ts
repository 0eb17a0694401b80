import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { client, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

test('smoke', async () => {
  const admin = client(t, t.adminToken)
  const me = await admin.get('/api/me')
  assert.equal(me.statusCode, 200, me.body)
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const list = await u.api.get('/api/workspaces')
  assert.equal(list.json().data[0].id, ws.id)
  const bad = await u.api.get('/api/workspaces?limit=0')
  console.log(bad.body)
  console.log((await u.api.get('/api/workspaces?after=xxx')).body)
  console.log((await u.api.post('/api/workspaces', { name: 'a', x: 1 })).body)
  console.log((await client(t, null).get('/api/me')).body)
  console.log((await client(t, null).get('/api/openapi.json')).body.slice(0, 300))
})
