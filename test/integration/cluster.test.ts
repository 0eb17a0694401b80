import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import sharp from 'sharp'
import { settled } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { apiCall, childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'

/**
 * `pictura serve` with API_PROCESSES=2: one port, two API processes under a
 * primary that prints for them, runs the provisioning worker in one of them,
 * replaces one that crashes and stops them all on SIGTERM.
 */

let t: TestEnv
let server: PicturaProcess

before(async () => {
  t = await createTestEnv()
  server = await startPictura(
    'serve',
    childEnv({ ...t.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', API_PROCESSES: '2' }),
  )
})
after(async () => {
  if (server?.proc.exitCode === null) server.proc.kill('SIGKILL')
  await t.close()
})

/** The primary's child processes, from /proc. */
const children = (): number[] =>
  readFileSync(`/proc/${server.proc.pid}/task/${server.proc.pid}/children`, 'utf8')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const call = (method: string, url: string, body?: Buffer | object) =>
  apiCall(server.base, t.adminToken, method, url, body)

test('two API processes answer on one port; one banner; uploads are provisioned', async () => {
  assert.match(server.output(), /Serving with 2 API processes/)
  assert.equal(server.output().match(/listening on/g)?.length, 1, server.output())
  assert.equal(children().length, 2)

  for (let i = 0; i < 20; i++) assert.equal((await call('GET', '/api/me')).status, 200)
  const ws = await call('POST', '/api/workspaces', { name: 'cluster' })
  assert.equal(ws.status, 201)
  const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#c05' } })
    .jpeg()
    .toBuffer()
  const file = await call('POST', `/api/files?workspace_id=${ws.body.id}&name=a.jpg`, jpeg)
  assert.equal(file.status, 201)
  const [row] = await settled(t, [file.body.id as string])
  assert.equal(row?.image_status, 'ready', 'the in-process worker of one API process provisioned it')
})

test('a crashed API process is replaced while the other keeps serving; SIGTERM stops all, exit 0', async () => {
  const [victim, survivor] = children()
  process.kill(victim!, 'SIGKILL')
  while (alive(victim!)) await sleep(10)
  for (let i = 0; i < 10; i++)
    assert.equal((await call('GET', '/api/me')).status, 200, 'the other one serves')

  for (let i = 0; !/serves in its place/.test(server.output()); i++) {
    assert.ok(i < 1200, `a replacement started: ${server.output()}`)
    await sleep(50)
  }
  assert.match(server.output(), /an API process exited \(SIGKILL\); starting another/)
  assert.equal(children().length, 2)
  assert.ok(children().includes(survivor!))
  // The replacement serves too: with the survivor gone as well, it is the one answering.
  process.kill(survivor!, 'SIGKILL')
  while (alive(survivor!)) await sleep(10)
  for (let i = 0; i < 10; i++) assert.equal((await call('GET', '/api/me')).status, 200)

  const last = children()
  assert.equal(await server.stop(), 0, server.output())
  for (const pid of last) assert.equal(alive(pid), false, `API process ${pid} stopped with the primary`)
})
