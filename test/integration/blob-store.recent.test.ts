import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, test } from 'node:test'
import type { BlobStore } from '../../src/platform/blob-store/blob-store.js'
import { FsBlobStore } from '../../src/platform/blob-store/fs-blob-store.js'
import { RecentBlobs } from '../../src/platform/blob-store/recent-blobs.js'
import type { AppError } from '../../src/shared/errors.js'
import { blobStoreContract } from '../contract/blob-store.contract.js'

blobStoreContract('recent blobs over fs', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pictura-recent-'))
  return {
    store: new RecentBlobs(new FsBlobStore(root)),
    close: async () => rmSync(root, { recursive: true, force: true }),
  }
})

let root: string
let inner: FsBlobStore
/** Reads that reached the store underneath. */
let reads: string[]
let store: RecentBlobs
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pictura-recent-'))
  inner = new FsBlobStore(root)
  const counted: BlobStore = Object.assign(Object.create(inner) as FsBlobStore, {
    get: (key: string, range?: { start: number; end: number }) => {
      reads.push(key)
      return inner.get(key, range)
    },
  })
  store = new RecentBlobs(counted, { blob: 1000, total: 2500 })
})
after(() => rmSync(root, { recursive: true, force: true }))

const bytesOf = (n: number, fill: number) => Buffer.alloc(n, fill)
const put = (key: string, bytes: Buffer) => store.put(key, Readable.from([bytes]), { maxBytes: 10_000 })
const read = async (key: string, range?: { start: number; end: number }) =>
  buffer(await store.get(key, range))

test('a small blob is read back from memory right after its put, whole or a range', async () => {
  reads = []
  const bytes = Buffer.from('0123456789'.repeat(50))
  await put('ws_r/fil_small', bytes)
  assert.ok((await read('ws_r/fil_small')).equals(bytes))
  assert.equal((await read('ws_r/fil_small', { start: 10, end: 19 })).toString(), '0123456789')
  assert.deepEqual(await store.stat('ws_r/fil_small'), { size: 500 })
  assert.deepEqual(reads, [], 'the store underneath was not read')
  assert.ok((await buffer(await inner.get('ws_r/fil_small'))).equals(bytes), 'and it holds the bytes')
})

test('a blob over the size limit is read from the store', async () => {
  reads = []
  const bytes = bytesOf(1001, 7)
  await put('ws_r/fil_big', bytes)
  assert.ok((await read('ws_r/fil_big')).equals(bytes))
  assert.deepEqual(reads, ['ws_r/fil_big'])
})

test('the oldest go first past the total; deleted ones are forgotten at once', async () => {
  reads = []
  for (const n of [1, 2, 3]) await put(`ws_o/fil_${n}`, bytesOf(1000, n))
  // 3000 bytes over a total of 2500: the first went.
  assert.ok((await read('ws_o/fil_1')).equals(bytesOf(1000, 1)))
  assert.deepEqual(reads, ['ws_o/fil_1'])
  await store.delete('ws_o/fil_2')
  await assert.rejects(store.get('ws_o/fil_2'), (err: AppError) => err.code === 'not_found')
  await store.deletePrefix('ws_o/')
  await assert.rejects(store.get('ws_o/fil_3'), (err: AppError) => err.code === 'not_found')
})

test('a put replaced by one too large to keep is not served from the old copy', async () => {
  await put('ws_x/fil_1', bytesOf(10, 1))
  const larger = bytesOf(2000, 2)
  await put('ws_x/fil_1', larger)
  assert.ok((await read('ws_x/fil_1')).equals(larger))
})

test('a refused or failed put keeps nothing and says why', async () => {
  await assert.rejects(
    store.put('ws_f/fil_1', Readable.from([bytesOf(20, 1)]), { maxBytes: 10 }),
    (err: AppError) => err.code === 'payload_too_large',
  )
  const failing = new Readable({
    read() {
      this.push(bytesOf(5, 1))
      this.destroy(new Error('client went away'))
    },
  })
  await assert.rejects(store.put('ws_f/fil_2', failing, { maxBytes: 100 }), /client went away/)
  for (const key of ['ws_f/fil_1', 'ws_f/fil_2']) {
    await assert.rejects(store.get(key), (err: AppError) => err.code === 'not_found')
  }
})
