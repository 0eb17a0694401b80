import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { sql } from 'kysely'
import type { DbConfig } from '../../src/config.js'
import { imageHead, imageJson } from '../../src/features/images/image-json.js'
import { migrateToLatest, migratorFor, openDatabase } from '../../src/platform/db/database.js'
import { newId } from '../../src/shared/ids.js'
import { DB_KIND, freshPostgresUrl } from '../harness.js'

/**
 * 20261205-image-thumbhash on a database with images from before it: they get
 * `thumbhash` null and a stored JSON head that ends with `"thumbhash":null`, so
 * they answer exactly as images provisioned now do, with the field.
 */
test('images provisioned before the thumbhash migration answer thumbhash null', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-migration-'))
  const pg = DB_KIND === 'postgres' ? await freshPostgresUrl() : null
  const config: DbConfig = pg
    ? { driver: 'postgres', url: pg.url }
    : { driver: 'sqlite', file: path.join(dir, 'db') }
  const handle = openDatabase(config)
  const { db } = handle
  try {
    const migrator = await migratorFor(db)
    const before = await migrator.migrateTo('20261204-read-version-sqlite')
    assert.equal(before.error, undefined)

    const now = new Date().toISOString()
    const userId = newId('usr')
    const wsId = newId('ws')
    const fileId = newId('fil')
    const imageId = newId('img')
    const fields = {
      id: imageId,
      file_id: fileId,
      workspace_id: wsId,
      cf_image_id: 'ab'.repeat(16),
      width: 640,
      height: 480,
      size: 1234,
      exif: '{"Make":"Canon"}',
    }
    // The head as 20261204-image-json wrote it: every field up to `exif`, nothing after.
    const oldHead = imageHead({ ...fields, thumbhash: null }).replace(/,"thumbhash":null$/, '')
    assert.ok(oldHead.endsWith('"exif":{"Make":"Canon"}'))
    await sql`insert into users (id, email, name, role, created_at) values (${userId}, 'a@example.com', null, 'member', ${now})`.execute(
      db,
    )
    await sql`insert into workspaces (id, name, created_at) values (${wsId}, 'W', ${now})`.execute(db)
    await sql`insert into files (id, workspace_id, name, mime, size, sha256, blob_key, created_at, created_by, image_status, image_id, image_error)
      values (${fileId}, ${wsId}, 'a.jpg', 'image/jpeg', 1234, ${'0'.repeat(64)}, 'k', ${now}, ${userId}, 'ready', ${imageId}, null)`.execute(
      db,
    )
    await sql`insert into images (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, created_at, json)
      values (${imageId}, ${fileId}, ${wsId}, 'local', ${fields.cf_image_id}, 640, 480, 1234, ${fields.exif}, null, ${now}, ${oldHead})`.execute(
      db,
    )

    const applied = await migrateToLatest(db)
    assert.ok(applied.includes('20261205-image-thumbhash'), `applied: ${applied.join(', ')}`)
    const row = await sql<{
      json: string
      thumbhash: string | null
    }>`select json, thumbhash from images`.execute(db)
    const [image] = row.rows
    assert.ok(image)
    assert.equal(image.thumbhash, null)
    assert.equal(image.json, imageHead({ ...fields, thumbhash: null }), 'the head new images get')
    const answered = JSON.parse(imageJson(image.json, 'http://x/cdn/y/public', now))
    assert.equal(answered.thumbhash, null)
    assert.deepEqual(answered.exif, { Make: 'Canon' })
  } finally {
    await handle.destroy()
    await pg?.drop()
    rmSync(dir, { recursive: true, force: true })
  }
})
