import type { LightMyRequestResponse } from 'fastify'
import type { TestEnv } from './harness.js'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A small client over app.inject(): real HTTP semantics, no sockets. */
export function client(t: TestEnv, token: string | null) {
  const call = (method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body as object }),
    })
  return {
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, body?: unknown, headers?: Record<string, string>) => call('POST', url, body, headers),
    put: (url: string, body?: unknown) => call('PUT', url, body),
    patch: (url: string, body?: unknown) => call('PATCH', url, body),
    del: (url: string) => call('DELETE', url),
  }
}

export type Client = ReturnType<typeof client>

export const json = <T = Record<string, unknown>>(res: LightMyRequestResponse): T => res.json() as T

let seq = 0

/** A new user with a token of their own. */
export async function newUser(t: TestEnv, role: 'admin' | 'member' = 'member') {
  const admin = client(t, t.adminToken)
  seq += 1
  const user = json<{ id: string; email: string }>(
    await admin.post('/api/users', {
      email: `user${seq}-${Date.now()}@example.com`,
      name: `User ${seq}`,
      role,
    }),
  )
  const token = json<{ token: string }>(
    await admin.post('/api/tokens', { name: 'test', userId: user.id }),
  ).token
  return { ...user, token, api: client(t, token) }
}

/** A workspace owned by `owner`. */
export async function newWorkspace(owner: { api: Client }, name = 'Workspace') {
  const res = await owner.api.post('/api/workspaces', { name })
  if (res.statusCode !== 201) throw new Error(`workspace create failed: ${res.body}`)
  return json<{ id: string; name: string }>(res)
}

export async function addMember(
  t: TestEnv,
  workspaceId: string,
  userId: string,
  role: 'viewer' | 'editor' | 'owner',
) {
  const res = await client(t, t.adminToken).put(`/api/workspaces/${workspaceId}/members/${userId}`, { role })
  if (res.statusCode >= 300) throw new Error(`member add failed: ${res.body}`)
}
