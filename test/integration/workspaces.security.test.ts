import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { expectError } from '../expect.js'
import { json, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

type Page = { data: { id: string }[]; pageInfo: { total: number } }

describe('workspaces: security', () => {
  test('a member of workspace B sees nothing of workspace A and cannot act on it', async () => {
    const alice = await newUser(t)
    const bob = await newUser(t)
    const a = await newWorkspace(alice, 'A')
    const b = await newWorkspace(bob, 'B')
    const before = {
      ws: json(await alice.api.get(`/api/workspaces/${a.id}`)),
      members: json(await alice.api.get(`/api/workspaces/${a.id}/members`)),
    }

    const base = `/api/workspaces/${a.id}`
    expectError(await bob.api.get(base), 404, 'not_found')
    expectError(await bob.api.patch(base, { name: 'pwned' }), 404, 'not_found')
    expectError(await bob.api.del(base), 404, 'not_found')
    expectError(await bob.api.get(`${base}/members`), 404, 'not_found')
    expectError(await bob.api.put(`${base}/members/${bob.id}`, { role: 'owner' }), 404, 'not_found')
    expectError(await bob.api.put(`${base}/members/${alice.id}`, { role: 'viewer' }), 404, 'not_found')
    expectError(await bob.api.del(`${base}/members/${alice.id}`), 404, 'not_found')
    expectError(await bob.api.del(`${base}/members/${bob.id}`), 404, 'not_found')

    // The 404 is the same as for a workspace that does not exist: nothing tells them apart.
    const ghost = await bob.api.get('/api/workspaces/ws_00000000000000000000000000')
    assert.equal((await bob.api.get(base)).body, ghost.body)

    const listed = json<Page>(await bob.api.get('/api/workspaces'))
    assert.deepEqual(
      listed.data.map((w) => w.id),
      [b.id],
    )
    assert.equal(listed.pageInfo.total, 1)
    const narrowed = json<Page>(await bob.api.get(`/api/workspaces?ids=${a.id},${b.id}`))
    assert.deepEqual(
      narrowed.data.map((w) => w.id),
      [b.id],
    )
    assert.equal(json<Page>(await bob.api.get(`/api/workspaces?ids=${a.id}`)).pageInfo.total, 0)

    assert.deepEqual(json(await alice.api.get(base)), before.ws)
    assert.deepEqual(json(await alice.api.get(`${base}/members`)), before.members)
  })

  for (const role of ['viewer', 'editor'] as const) {
    test(`a ${role} can read but neither manage members nor change the workspace (403)`, async () => {
      const owner = await newUser(t)
      const user = await newUser(t)
      const other = await newUser(t)
      const ws = await newWorkspace(owner, 'Shared')
      const base = `/api/workspaces/${ws.id}`
      await owner.api.put(`${base}/members/${user.id}`, { role })
      await owner.api.put(`${base}/members/${other.id}`, { role: 'viewer' })

      assert.equal((await user.api.get(base)).statusCode, 200)
      assert.equal(json<Page>(await user.api.get(`${base}/members`)).pageInfo.total, 3)

      expectError(await user.api.put(`${base}/members/${other.id}`, { role: 'owner' }), 403, 'forbidden')
      expectError(await user.api.put(`${base}/members/${user.id}`, { role: 'owner' }), 403, 'forbidden')
      expectError(await user.api.del(`${base}/members/${other.id}`), 403, 'forbidden')
      expectError(await user.api.del(`${base}/members/${owner.id}`), 403, 'forbidden')
      expectError(await user.api.patch(base, { name: 'Mine now' }), 403, 'forbidden')
      expectError(await user.api.del(base), 403, 'forbidden')

      const after = json<{ data: { userId: string; role: string }[] }>(await owner.api.get(`${base}/members`))
      assert.deepEqual(
        after.data.map((m) => [m.userId, m.role]),
        [
          [other.id, 'viewer'],
          [user.id, role],
          [owner.id, 'owner'],
        ],
      )
      assert.equal(json<{ name: string }>(await owner.api.get(base)).name, 'Shared')
    })
  }

  test('a role below owner is refused before the body or target is looked at', async () => {
    const owner = await newUser(t)
    const viewer = await newUser(t)
    const ws = await newWorkspace(owner)
    await owner.api.put(`/api/workspaces/${ws.id}/members/${viewer.id}`, { role: 'viewer' })
    expectError(
      await viewer.api.put(`/api/workspaces/${ws.id}/members/usr_00000000000000000000000000`, {
        role: 'owner',
      }),
      403,
      'forbidden',
    )
  })

  test('a removed member loses access on the very next request', async () => {
    const owner = await newUser(t)
    const user = await newUser(t)
    const ws = await newWorkspace(owner)
    await owner.api.put(`/api/workspaces/${ws.id}/members/${user.id}`, { role: 'owner' })
    assert.equal((await user.api.patch(`/api/workspaces/${ws.id}`, { name: 'ok' })).statusCode, 200)
    await owner.api.del(`/api/workspaces/${ws.id}/members/${user.id}`)
    expectError(await user.api.patch(`/api/workspaces/${ws.id}`, { name: 'late' }), 404, 'not_found')
    expectError(await user.api.get(`/api/workspaces/${ws.id}`), 404, 'not_found')
  })
})
