import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, test } from 'node:test'
import { FsBlobStore } from '../../src/platform/blob-store/fs-blob-store.js'
import { blobStoreContract } from '../contract/blob-store.contract.js'

blobStoreContract('fs', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pictura-blobs-'))
  return { store: new FsBlobStore(root), close: async () => rmSync(root, { recursive: true, force: true }) }
})

let root: string
let store: FsBlobStore
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pictura-blobs-fs-'))
  store = new FsBlobStore(root)
})
after(() => rmSync(root, { recursive: true, force: true }))

const tmpFiles = () => (existsSync(path.join(root, '.tmp')) ? readdirSync(path.join(root, '.tmp')) : [])

test('blobs live at <root>/<workspace>/<file> and no temp file outlives a put, kept or refused', async () => {
  await store.put('ws_a/fil_1', Readable.from([Buffer.from('hello')]), { maxBytes: 10 })
  assert.ok(existsSync(path.join(root, 'ws_a', 'fil_1')))
  await assert.rejects(store.put('ws_a/fil_2', Readable.from([Buffer.alloc(11)]), { maxBytes: 10 }))
  assert.deepEqual(tmpFiles(), [])
  assert.ok(!existsSync(path.join(root, 'ws_a', 'fil_2')))
})

test('a put refused at its first bytes, while its temp file is still being opened, leaves no temp file', async () => {
  // The refusal can fail the pipeline before the temp file exists; it must be removed once it does.
  for (let i = 0; i < 100; i++) {
    await assert.rejects(store.put(`ws_a/fil_r${i}`, Readable.from([Buffer.alloc(5000)]), { maxBytes: 100 }))
    assert.deepEqual(tmpFiles(), [], `after refused put ${i}`)
  }
})

test('keys and prefixes that could leave the root are refused before touching the disk', async () => {
  for (const key of ['../escape', 'ws_a/../../escape', '/etc/passwd', 'ws_a/', '', '.tmp/x', 'a\\b']) {
    await assert.rejects(store.put(key, Readable.from([Buffer.from('x')]), { maxBytes: 10 }), key)
    await assert.rejects(store.get(key), key)
  }
  for (const prefix of ['', '../', '/', '.tmp/', '..'])
    await assert.rejects(store.deletePrefix(prefix), prefix)
  assert.ok(!existsSync(path.join(root, '..', 'escape')))
})

test('cleanup removes temp files of dead writers and of this process, and keeps those of live ones', async () => {
  const tmp = path.join(root, '.tmp')
  mkdirSync(tmp, { recursive: true })
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'])
  try {
    const dead = '2147483646.0000.part'
    const mine = `${process.pid}.1111.part`
    const live = `${child.pid}.2222.part`
    for (const name of [dead, mine, live]) writeFileSync(path.join(tmp, name), 'partial')
    assert.equal(await store.cleanup(), 2)
    assert.deepEqual(readdirSync(tmp), [live])
  } finally {
    child.kill()
  }
  await new Promise((resolve) => child.once('exit', resolve))
  assert.equal(await store.cleanup(), 1, 'its writer has exited')
  assert.deepEqual(readdirSync(tmp), [])
})
