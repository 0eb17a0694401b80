import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import { createClient, type PicturaClient, PicturaError } from '../../client/index.js'
import { newImage } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'

/**
 * The typed client against a real `pictura serve` (a child process, on this
 * run's database), over real HTTP: every helper, its errors, paging, uploads.
 */

let t: TestEnv
let server: PicturaProcess
let admin: PicturaClient
before(async () => {
  t = await createTestEnv()
  server = await startPictura('serve', childEnv({ ...t.env, PORT: '0', HOST: '127.0.0.1' }))
  admin = createClient({ baseUrl: server.base, token: t.adminToken })
})
after(async () => {
  await server?.stop()
  await t?.close()
})

const png = (seed: number, width = 32) =>
  sharp({ create: { width, height: 24, channels: 3, background: { r: seed % 256, g: 80, b: 160 } } })
    .png()
    .toBuffer()

/** A member with a client of their own, owning a new workspace. */
async function member() {
  const user = await admin.users.create({ email: `m${randomBytes(4).toString('hex')}@localhost` })
  const { token } = await admin.tokens.create({ name: 'client test', userId: user.id })
  const client = createClient({ baseUrl: server.base, token })
  const ws = await client.workspaces.create({ name: 'Client test' })
  return { user, client, ws }
}

async function rejects(promise: Promise<unknown>, status: number, code: string): Promise<PicturaError> {
  const err = await promise.then(
    () => assert.fail(`expected ${status} ${code}`),
    (e: unknown) => e,
  )
  assert.ok(err instanceof PicturaError, String(err))
  assert.equal(err.status, status, err.message)
  assert.equal(err.code, code, err.message)
  assert.ok(err.message.length > 0)
  return err
}

test('users, tokens, workspaces and members: every helper answers typed objects', async () => {
  const me = await admin.me()
  assert.equal(me.email, 'admin@localhost')
  assert.equal(me.role, 'admin')

  const { user, client, ws } = await member()
  assert.equal((await client.me()).id, user.id)
  assert.equal((await admin.users.get(user.id)).email, user.email)
  const someUsers = await admin.users.list({ limit: 1 })
  assert.equal(someUsers.data.length, 1)
  assert.ok(someUsers.pageInfo.total >= 2)
  const everyUser = []
  for await (const u of admin.users.all({ limit: 1 })) everyUser.push(u.id)
  assert.equal(everyUser.length, someUsers.pageInfo.total)
  assert.ok(everyUser.includes(user.id) && everyUser.includes(me.id))

  const minted = await client.tokens.create({ name: 'second' })
  assert.match(minted.token, /^pic_/)
  const mine = []
  for await (const token of client.tokens.all()) mine.push(token.id)
  assert.equal(mine.length, 2)
  assert.equal((await client.tokens.revoke(minted.id)).success, true)
  await rejects(createClient({ baseUrl: server.base, token: minted.token }).me(), 401, 'unauthorized')

  assert.equal((await client.workspaces.get(ws.id)).role, 'owner')
  assert.equal((await client.workspaces.rename(ws.id, { name: 'Renamed' })).name, 'Renamed')
  assert.deepEqual(
    (await client.workspaces.list()).data.map((w) => w.id),
    [ws.id],
  )
  const other = await admin.users.create({ email: `o${randomBytes(4).toString('hex')}@example.com` })
  assert.equal((await client.workspaces.members.put(ws.id, other.id, 'viewer')).role, 'viewer')
  assert.equal((await client.workspaces.members.put(ws.id, other.id, 'editor')).role, 'editor')
  const members = []
  for await (const m of client.workspaces.members.all(ws.id, { limit: 1 })) members.push(m.userId)
  assert.deepEqual(members.sort(), [user.id, other.id].sort())
  assert.equal((await client.workspaces.members.list(ws.id, { ids: [other.id] })).data.length, 1)
  assert.equal((await client.workspaces.members.remove(ws.id, other.id)).success, true)
  assert.equal((await admin.users.delete(other.id)).success, true)

  const gone = await client.workspaces.create({ name: 'Gone' })
  assert.equal((await client.workspaces.delete(gone.id)).success, true)
  await rejects(client.workspaces.get(gone.id), 404, 'not_found')
})

test('errors are one class with the envelope: status, code, message, details', async () => {
  const { client, ws } = await member()
  await rejects(client.images.get('img_00000000000000000000000000'), 404, 'not_found')
  const invalid = await rejects(client.workspaces.create({ name: '' }), 400, 'invalid_request')
  assert.equal(invalid.details?.field, 'name')
  assert.ok(invalid.requestId, 'the answer’s X-Request-Id')
  await rejects(client.images.list({ limit: 101 }), 400, 'invalid_request')
  await rejects(client.files.list({ after: 'forged' }), 400, 'invalid_cursor')
  await rejects(client.users.list(), 403, 'forbidden')
  const dup = await admin.users.create({ email: `dup${randomBytes(3).toString('hex')}@localhost` })
  await rejects(admin.users.create({ email: dup.email }), 409, 'conflict')
  await rejects(createClient({ baseUrl: server.base, token: 'pic_wrong' }).me(), 401, 'unauthorized')
  // The raw typed API throws the same way (on a workspace id that differs from ws.id in its last character).
  const unknown = ws.id.slice(0, -1) + (ws.id.endsWith('0') ? '1' : '0')
  await rejects(
    admin.api.GET('/api/workspaces/{id}', { params: { path: { id: unknown } } }),
    404,
    'not_found',
  )
  // No answer at all: a port nobody listens on (any longer).
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as AddressInfo).port
  probe.close()
  const closed = createClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'pic_x', retry: false })
  const network = await rejects(closed.me(), 0, 'network_error')
  assert.match(network.message, /ECONNREFUSED|fetch failed/)
})

test('uploads from a path, a Blob and streams, with progress; waitForImage resolves or rejects with the reason', async (tc) => {
  const { client, ws } = await member()
  const bytes = await png(7, 64)
  const file = path.join(t.dataDir, 'from-disk.png')
  writeFileSync(file, bytes)
  const progress: number[] = []
  const fromPath = await client.uploadFile(file, {
    workspaceId: ws.id,
    onProgress: (p) => {
      assert.equal(p.total, bytes.length)
      progress.push(p.sent)
    },
  })
  assert.equal(fromPath.name, 'from-disk.png')
  assert.equal(fromPath.sha256, createHash('sha256').update(bytes).digest('hex'))
  assert.equal(progress.at(-1), bytes.length)
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  )

  const fromBlob = await client.files.upload(new File([await png(8)], 'blob.png'), { workspaceId: ws.id })
  assert.equal(fromBlob.name, 'blob.png')
  const fromNode = await client.uploadFile(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), {
    workspaceId: ws.id,
    name: 'node-stream.png',
  })
  const fromWeb = await client.uploadFile(new Blob([bytes]).stream(), {
    workspaceId: ws.id,
    name: 'web.png',
    size: bytes.length,
  })
  assert.deepEqual([fromNode.size, fromWeb.size], [bytes.length, bytes.length])

  const image = await client.waitForImage(fromPath.id, { timeoutMs: 30_000 })
  assert.equal(image.fileId, fromPath.id)
  assert.deepEqual([image.width, image.height], [64, 24])
  assert.equal((await client.images.get(image.id)).id, image.id)
  assert.equal((await client.images.byFile(fromPath.id)).id, image.id)

  const corrupt = await client.uploadFile(new Blob([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])]), {
    workspaceId: ws.id,
    name: 'corrupt.jpg',
  })
  const failed = await rejects(
    client.waitForImage(corrupt.id, { timeoutMs: 30_000 }),
    0,
    'provisioning_failed',
  )
  assert.equal(failed.details?.fileId, corrupt.id)
  assert.match(failed.message, /corrupt|JPEG|decode|unsupported/i)
  const text = await client.uploadFile(new Blob(['plain words']), { workspaceId: ws.id, name: 'a.txt' })
  await rejects(client.waitForImage(text.id), 0, 'not_an_image')
  const slow = await client.uploadFile(new Blob([await png(9, 2000)]), {
    workspaceId: ws.id,
    name: 'slow.png',
  })
  const timedOut = await client.waitForImage(slow.id, { timeoutMs: 1 }).catch((e: PicturaError) => e)
  // A large image may settle within a millisecond on a fast machine; otherwise the wait times out.
  if (timedOut instanceof PicturaError) assert.equal(timedOut.code, 'timeout')
  else tc.diagnostic('the 2000 px image was provisioned within 1 ms')

  const found = await client.files.findBySha256(fromPath.sha256, { workspaceId: ws.id })
  assert.deepEqual(found.map((f) => f.id).sort(), [fromPath.id, fromNode.id, fromWeb.id].sort())
  const listed = await client.files.list({ workspaceId: ws.id, mime: 'image/', limit: 2 })
  assert.equal(listed.pageInfo.total, 6)
  assert.equal((await client.files.get(text.id)).image.status, 'none')

  const whole = await client.files.download(fromPath.id)
  assert.equal(whole.status, 200)
  assert.equal(whole.headers.get('content-type'), 'image/png')
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), bytes)
  const part = await client.files.download(fromPath.id, { range: { start: 8, end: 15 } })
  assert.equal(part.status, 206)
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(8, 16))

  assert.equal((await client.images.delete(image.id)).success, true)
  await rejects(client.images.get(image.id), 404, 'not_found')
  const again = await client.images.provision(fromPath.id)
  assert.equal(again.image.status, 'pending')
  await rejects(client.images.provision(fromPath.id), 409, 'conflict')
  assert.equal((await client.files.delete(text.id)).success, true)
  await rejects(client.files.get(text.id), 404, 'not_found')
})

test('with a fetch of its own, the client sends everything through it, uploads included', async () => {
  const { ws } = await member()
  const { token } = await admin.tokens.create({ name: 'fetch' })
  const sent: string[] = []
  const client = createClient({
    baseUrl: server.base,
    token,
    fetch: (request) => {
      sent.push(`${request.method} ${new URL(request.url).pathname}`)
      return fetch(request)
    },
  })
  const bytes = await png(3, 48)
  const progress: number[] = []
  const streamed = await client.uploadFile(Readable.from([bytes]), {
    workspaceId: ws.id,
    name: 'via-fetch.png',
    onProgress: (p) => progress.push(p.sent),
  })
  const whole = await client.uploadFile(new Blob([bytes]), { workspaceId: ws.id, name: 'blob.png' })
  assert.deepEqual([streamed.size, whole.size], [bytes.length, bytes.length])
  assert.equal(progress.at(-1), bytes.length)
  await client.files.get(streamed.id)
  assert.deepEqual(sent, ['POST /api/files', 'POST /api/files', `GET /api/files/${streamed.id}`])
})

test('paging through 250 images with the iterator visits each exactly once', async () => {
  const { client, ws } = await member()
  const seeded = new Set<string>()
  for (let i = 0; i < 250; i++) seeded.add((await newImage(t, ws.id)).id)
  const seen: string[] = []
  for await (const image of client.images.all({ workspaceId: ws.id })) seen.push(image.id)
  assert.equal(seen.length, 250)
  assert.equal(new Set(seen).size, 250)
  assert.deepEqual(new Set(seen), seeded)
  assert.deepEqual(seen, [...seen].sort().reverse(), 'newest first')
  // Smaller pages, and another scope: the same rows.
  const small: string[] = []
  for await (const image of client.images.all({ workspaceId: ws.id, limit: 7 })) small.push(image.id)
  assert.deepEqual(small, seen)
  const { data, pageInfo } = await client.images.list({ workspaceId: ws.id, ids: seen.slice(0, 3) })
  assert.equal(data.length, 3)
  assert.equal(pageInfo.total, 3)
})

test('a 50 MiB upload from a stream goes through without holding it in memory', async (tc) => {
  const { client, ws } = await member()
  const size = 50 * 1024 * 1024
  const hash = createHash('sha256')
  // One chunk sent over and over: the source itself allocates nothing, so what grows is the client's.
  const chunk = randomBytes(64 * 1024)
  async function* generate() {
    for (let sent = 0; sent < size; sent += chunk.length) {
      hash.update(chunk)
      yield chunk
    }
  }
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  let lastProgress = 0
  const started = Date.now()
  const file = await client.uploadFile(Readable.from(generate()), {
    workspaceId: ws.id,
    name: 'big.bin',
    size,
    onProgress: (p) => {
      lastProgress = p.sent
    },
  })
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  const growth = (peak - before) / 2 ** 20
  tc.diagnostic(
    `50 MiB stream upload in ${((Date.now() - started) / 1000).toFixed(1)} s: client RSS ${(before / 2 ** 20).toFixed(0)} MiB -> peak ${(peak / 2 ** 20).toFixed(0)} MiB, growth ${growth.toFixed(1)} MiB`,
  )
  assert.equal(file.size, size)
  assert.equal(file.sha256, hash.digest('hex'))
  assert.equal(lastProgress, size)
  assert.ok(growth < 40, `memory grew by ${growth.toFixed(1)} MiB for a 50 MiB upload`)
})
