import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, describe, test } from 'node:test'
import type { BlobStore } from '../../src/platform/blob-store/blob-store.js'
import { AppError } from '../../src/shared/errors.js'

export interface BlobStoreFixture {
  store: BlobStore
  close(): Promise<void>
}

/**
 * What every BlobStore adapter guarantees (the port's doc comment), as one
 * suite: the fs adapter runs it today, an S3 adapter runs the same one later.
 */
export function blobStoreContract(name: string, open: () => Promise<BlobStoreFixture>) {
  describe(`BlobStore contract: ${name}`, () => {
    let f: BlobStoreFixture
    let store: BlobStore
    before(async () => {
      f = await open()
      store = f.store
    })
    after(() => f.close())

    test('put streams the bytes in and reports their size and SHA-256; get gives them back', async () => {
      const bytes = randomBytes(100_000)
      const key = newKey()
      const put = await store.put(key, Readable.from([bytes]), { maxBytes: 1_000_000 })
      assert.deepEqual(put, { size: bytes.length, sha256: sha256(bytes) })
      assert.deepEqual(await store.stat(key), { size: bytes.length })
      assert.ok((await readAll(store, key)).equals(bytes))
    })

    test('an empty blob is a blob', async () => {
      const key = newKey()
      const put = await store.put(key, Readable.from([]), { maxBytes: 10 })
      assert.deepEqual(put, { size: 0, sha256: sha256(Buffer.alloc(0)) })
      assert.deepEqual(await store.stat(key), { size: 0 })
      assert.equal((await readAll(store, key)).length, 0)
    })

    test('a source of many chunks is hashed across all of them', async () => {
      const key = newKey()
      const hash = createHash('sha256')
      const chunks = 200
      async function* source() {
        for (let i = 0; i < chunks; i++) {
          const chunk = Buffer.alloc(64 * 1024, i % 251)
          hash.update(chunk)
          yield chunk
        }
      }
      const put = await store.put(key, Readable.from(source()), { maxBytes: chunks * 64 * 1024 })
      assert.equal(put.size, chunks * 64 * 1024)
      assert.equal(put.sha256, hash.digest('hex'))
      assert.equal(sha256(await readAll(store, key)), put.sha256)
    })

    test('exactly maxBytes is accepted; one byte more is refused and leaves nothing', async () => {
      const ok = newKey()
      assert.equal((await store.put(ok, chunked(randomBytes(4096)), { maxBytes: 4096 })).size, 4096)

      const over = newKey()
      await assert.rejects(
        store.put(over, chunked(randomBytes(4097)), { maxBytes: 4096 }),
        (err: unknown) => err instanceof AppError && err.code === 'payload_too_large',
      )
      assert.equal(await store.stat(over), null)
      await assertNotFound(store.get(over))
      assert.equal(await store.cleanup(), 0, 'no leftovers of the refused write')
    })

    test('a source that fails mid-way leaves nothing under the key', async () => {
      const key = newKey()
      async function* failing() {
        yield randomBytes(10_000)
        throw new Error('client went away')
      }
      await assert.rejects(store.put(key, Readable.from(failing()), { maxBytes: 1_000_000 }), /went away/)
      assert.equal(await store.stat(key), null)
      assert.equal(await store.cleanup(), 0, 'no leftovers of the failed write')
    })

    test('a blob is not visible under its key until completely written', async () => {
      const key = newKey()
      const source = new Readable({ read() {} })
      const pending = store.put(key, source, { maxBytes: 1_000_000 })
      source.push(randomBytes(50_000))
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(await store.stat(key), null)
      source.push(null)
      await pending
      assert.deepEqual(await store.stat(key), { size: 50_000 })
    })

    test('a put to an existing key replaces the blob whole', async () => {
      const key = newKey()
      await store.put(key, chunked(Buffer.from('first version, longer')), { maxBytes: 100 })
      await store.put(key, chunked(Buffer.from('second')), { maxBytes: 100 })
      assert.equal((await readAll(store, key)).toString(), 'second')
    })

    test('get serves inclusive byte ranges', async () => {
      const key = newKey()
      const bytes = Buffer.from('0123456789abcdef')
      await store.put(key, chunked(bytes), { maxBytes: 100 })
      const range = async (start: number, end: number) =>
        (await buffer(await store.get(key, { start, end }))).toString()
      assert.equal(await range(0, 0), '0')
      assert.equal(await range(2, 5), '2345')
      assert.equal(await range(15, 15), 'f')
      assert.equal(await range(0, 15), bytes.toString())
    })

    test('get, stat and delete of an absent key', async () => {
      const key = newKey()
      await assertNotFound(store.get(key))
      await assertNotFound(store.get(key, { start: 0, end: 1 }))
      assert.equal(await store.stat(key), null)
      await store.delete(key)
    })

    test('delete removes the blob and is idempotent', async () => {
      const key = newKey()
      await store.put(key, chunked(Buffer.from('bytes')), { maxBytes: 100 })
      await store.delete(key)
      assert.equal(await store.stat(key), null)
      await assertNotFound(store.get(key))
      await store.delete(key)
    })

    test("deletePrefix removes a workspace's folder and nothing else", async () => {
      const ws = `ws_${token()}`
      const inside = [`${ws}/fil_a`, `${ws}/fil_b`, `${ws}/fil_c`]
      const neighbour = `${ws}x/fil_a`
      const other = newKey()
      for (const key of [...inside, neighbour, other]) {
        await store.put(key, chunked(Buffer.from(key)), { maxBytes: 100 })
      }
      await store.deletePrefix(`${ws}/`)
      for (const key of inside) assert.equal(await store.stat(key), null, key)
      assert.equal((await readAll(store, neighbour)).toString(), neighbour)
      assert.equal((await readAll(store, other)).toString(), other)
      await store.deletePrefix(`${ws}/`)
    })

    test('list shows every complete blob with its write time, never a write in flight', async () => {
      const before = Date.now()
      const done = [newKey(), newKey()]
      for (const key of done) await store.put(key, chunked(Buffer.from(key)), { maxBytes: 100 })
      const inFlight = newKey()
      const source = new Readable({ read() {} })
      const pending = store.put(inFlight, source, { maxBytes: 1_000_000 })
      source.push(randomBytes(10_000))
      await new Promise((resolve) => setTimeout(resolve, 50))
      const listed = new Map<string, number>()
      for await (const entry of store.list()) listed.set(entry.key, entry.modifiedAt)
      source.push(null)
      await pending
      for (const key of done) {
        assert.ok(listed.has(key), key)
        // Some stores keep whole seconds; a clock a second either way is still the write's time.
        const at = listed.get(key)!
        assert.ok(at >= before - 2_000 && at <= Date.now() + 2_000, `${key} at ${at}`)
      }
      assert.ok(!listed.has(inFlight), 'a write in flight is not listed')
      assert.ok(
        [...listed.keys()].every((k) => !k.startsWith('.')),
        'no temp files',
      )
    })

    test('concurrent puts to different keys each keep their own bytes', async () => {
      const blobs = Array.from({ length: 8 }, () => ({ key: newKey(), bytes: randomBytes(30_000) }))
      await Promise.all(blobs.map((b) => store.put(b.key, chunked(b.bytes), { maxBytes: 100_000 })))
      for (const b of blobs) assert.ok((await readAll(store, b.key)).equals(b.bytes))
    })
  })
}

const token = () => randomBytes(8).toString('hex')
const newKey = () => `ws_${token()}/fil_${token()}`
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** The bytes as a stream of small chunks, as a network body arrives. */
function chunked(bytes: Buffer, size = 1000): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

async function readAll(store: BlobStore, key: string): Promise<Buffer> {
  return buffer(await store.get(key))
}

async function assertNotFound(promise: Promise<unknown>) {
  await assert.rejects(promise, (err: unknown) => err instanceof AppError && err.code === 'not_found')
}
