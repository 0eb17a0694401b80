import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { DirSync } from '../../src/platform/blob-store/dir-sync.js'

test('writers into one folder share the fsync that starts after their rename', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-dir-sync-'))
  try {
    const syncs = new DirSync()
    const first = syncs.sync(dir)
    // While the first runs, later writers all join the next one: it starts after their renames.
    const later = [syncs.sync(dir), syncs.sync(dir), syncs.sync(dir)]
    assert.notEqual(later[0], first)
    assert.ok(later.every((p) => p === later[0]))
    await Promise.all([first, ...later])
    // Nothing runs any more: the next writer starts a fsync of its own.
    const again = syncs.sync(dir)
    assert.notEqual(again, later[0])
    await again
    // Folders do not share.
    const other = mkdtempSync(path.join(tmpdir(), 'pictura-dir-sync-'))
    try {
      const apart = [syncs.sync(other), syncs.sync(dir)]
      assert.notEqual(apart[0], apart[1])
      await Promise.all(apart)
    } finally {
      rmSync(other, { recursive: true })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a failed fsync fails its writers, and the next writers still get one', async () => {
  const syncs = new DirSync()
  const missing = path.join(tmpdir(), `pictura-dir-sync-missing-${process.pid}`)
  const failing = syncs.sync(missing)
  const joined = syncs.sync(missing)
  await assert.rejects(failing, { code: 'ENOENT' })
  await assert.rejects(joined, { code: 'ENOENT' })
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-dir-sync-'))
  try {
    await syncs.sync(dir)
  } finally {
    rmSync(dir, { recursive: true })
  }
})
