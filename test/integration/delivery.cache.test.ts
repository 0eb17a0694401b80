import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { VariantCache } from '../../src/features/delivery/variant-cache.js'

const id = (n: number) => n.toString(16).padStart(32, '0')
const key = (n: number) => `f${n.toString(16).padStart(31, '0')}`

let root: string
before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pictura-cache-'))
})
after(() => rmSync(root, { recursive: true, force: true }))

function bytesOnDisk(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) =>
      sum + (e.isDirectory() ? bytesOnDisk(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size),
    0,
  )
}

test('the cache stays within its byte budget, evicting the least recently used variant', async () => {
  const dir = path.join(root, 'lru')
  const cache = new VariantCache(dir, 3_000)
  await cache.put(id(1), key(1), Buffer.alloc(1_000, 1))
  await cache.put(id(2), key(2), Buffer.alloc(1_000, 2))
  await cache.put(id(3), key(3), Buffer.alloc(1_000, 3))
  const hit = await cache.open(id(1), key(1))
  await hit?.handle.close()
  await cache.put(id(4), key(4), Buffer.alloc(1_000, 4))
  assert.ok(await cache.open(id(2), key(2)).then((h) => h === null), 'the least recently used went')
  for (const n of [1, 3, 4]) {
    const h = await cache.open(id(n), key(n))
    assert.ok(h, `variant ${n} kept`)
    assert.equal((await h.handle.readFile())[0], n)
    await h.handle.close()
  }
  assert.equal(cache.bytes, 3_000)
  assert.ok(bytesOnDisk(dir) <= 3_000)
  await cache.put(id(5), key(5), Buffer.alloc(5_000))
  assert.equal(await cache.open(id(5), key(5)), null, 'a variant larger than the budget is not kept')
})

test('a restart rebuilds the index from disk, drops temp files, and drop() removes an image', async () => {
  const dir = path.join(root, 'restart')
  const first = new VariantCache(dir, 10_000)
  await first.put(id(1), key(1), Buffer.alloc(400))
  await first.put(id(2), key(2), Buffer.alloc(600))
  writeFileSync(path.join(dir, id(2), `${key(9)}.abc.tmp`), 'half a write')
  const second = new VariantCache(dir, 10_000)
  await second.init()
  assert.equal(second.bytes, 1_000)
  assert.deepEqual(readdirSync(path.join(dir, id(2))), [key(2)])
  await second.drop(id(2))
  assert.equal(second.bytes, 400)
  assert.deepEqual(readdirSync(dir), [id(1)])
  // Ids that are not ours never become paths.
  await second.drop('../restart')
  await second.put('../../x', key(1), Buffer.alloc(1))
  assert.deepEqual(readdirSync(dir), [id(1)])
})
