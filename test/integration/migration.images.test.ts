import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { sql } from 'kysely'
import type { DbConfig } from '../../src/config.js'
import { imageHead, urlOpening } from '../../src/features/images/image-json.js'
import { ImageReads } from '../../src/features/images/images.repository.js'
import { FsBlobStore } from '../../src/platform/blob-store/fs-blob-store.js'
import { type Db, migrateToLatest, migratorFor, openDatabase } from '../../src/platform/db/database.js'
import { CloudflareImageProvider } from '../../src/platform/image-provider/cloudflare-image-provider.js'
import { deliveryUrl } from '../../src/platform/image-provider/image-provider.js'
import { LocalImageProvider } from '../../src/platform/image-provider/local-image-provider.js'
import { newId } from '../../src/shared/ids.js'
import { DB_KIND, freshPostgresUrl } from '../harness.js'

/** A database migrated up to `through`, its schema as it was then; `run` gets it, then it is dropped. */
async function before(through: string, run: (db: Db) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-migration-'))
  const pg = DB_KIND === 'postgres' ? await freshPostgresUrl() : null
  const config: DbConfig = pg
    ? { driver: 'postgres', url: pg.url }
    : { driver: 'sqlite', file: path.join(dir, 'db') }
  const handle = openDatabase(config)
  try {
    const migrated = await (await migratorFor(handle.db)).migrateTo(through)
    assert.equal(migrated.error, undefined)
    await run(handle.db)
  } finally {
    await handle.destroy()
    await pg?.drop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A workspace and a user, and a ready file for each image id; the images themselves are the caller's. */
async function owners(db: Db, imageIds: string[]): Promise<{ wsId: string; fileIds: string[] }> {
  const now = new Date().toISOString()
  const userId = newId('usr')
  const wsId = newId('ws')
  await sql`insert into users (id, email, name, role, created_at) values (${userId}, 'a@example.com', null, 'member', ${now})`.execute(
    db,
  )
  await sql`insert into workspaces (id, name, created_at) values (${wsId}, 'W', ${now})`.execute(db)
  const fileIds: string[] = []
  for (const imageId of imageIds) {
    const fileId = newId('fil')
    fileIds.push(fileId)
    await sql`insert into files (id, workspace_id, name, mime, size, sha256, blob_key, created_at, created_by, image_status, image_id, image_error)
      values (${fileId}, ${wsId}, 'a.jpg', 'image/jpeg', 1234, ${'0'.repeat(64)}, 'k', ${now}, ${userId}, 'ready', ${imageId}, null)`.execute(
      db,
    )
  }
  return { wsId, fileIds }
}

/**
 * 20261205-image-thumbhash on a database with images from before it: they get
 * `thumbhash` null and a stored JSON head that ends with `"thumbhash":null`, so
 * they answer exactly as images provisioned now do, with the field.
 */
test('images provisioned before the thumbhash migration answer thumbhash null', async () => {
  await before('20261204-read-version-sqlite', async (db) => {
    const now = new Date().toISOString()
    const imageId = newId('img')
    const { wsId, fileIds } = await owners(db, [imageId])
    const fields = {
      id: imageId,
      file_id: fileIds[0]!,
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
    await sql`insert into images (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, created_at, json)
      values (${imageId}, ${fields.file_id}, ${wsId}, 'local', ${fields.cf_image_id}, 640, 480, 1234, ${fields.exif}, null, ${now}, ${oldHead})`.execute(
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
    const answered = JSON.parse(`${image.json}}`)
    assert.equal(answered.thumbhash, null)
    assert.deepEqual(answered.exif, { Make: 'Canon' })
  })
})

/**
 * 20261206-image-url-path on images from before it: each gets the path its
 * provider gives its id (ImageProvider.deliveryPath), hex ids in SQL, other
 * ids escaped as their provider escapes them; and a read composes the URL the
 * provider would, below the configured base.
 */
test("images provisioned before the url_path migration get their provider's path and answer its URL", async () => {
  const local = new LocalImageProvider({
    publicUrl: 'https://img.example.com',
    idSecret: Buffer.alloc(32),
    variants: { hold: async () => {}, drop: async () => {} },
  })
  const cloudflare = new CloudflareImageProvider({
    config: { accountId: 'acc', apiToken: 'token', accountHash: 'Hash_1', apiBase: 'http://127.0.0.1:9' },
    blobs: new FsBlobStore(tmpdir()),
    idSecret: Buffer.alloc(32),
  })
  const images = [
    { provider: local, cfImageId: 'ab'.repeat(16) },
    { provider: local, cfImageId: "a b/c?d#é%2F it's" },
    { provider: cloudflare, cfImageId: 'cd'.repeat(16) },
    { provider: cloudflare, cfImageId: 'team/a b/é' },
  ].map((image) => ({ ...image, id: newId('img') }))
  await before('20261205-image-thumbhash', async (db) => {
    const now = new Date().toISOString()
    const { wsId, fileIds } = await owners(
      db,
      images.map((i) => i.id),
    )
    for (const [n, image] of images.entries()) {
      const fields = {
        id: image.id,
        file_id: fileIds[n]!,
        workspace_id: wsId,
        cf_image_id: image.cfImageId,
        width: 640,
        height: 480,
        size: 1234,
        exif: '{}',
        thumbhash: null,
      }
      await sql`insert into images (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, thumbhash, created_at, json)
        values (${image.id}, ${fields.file_id}, ${wsId}, ${image.provider.name}, ${image.cfImageId}, 640, 480, 1234, '{}', null, null, ${now}, ${imageHead(fields)})`.execute(
        db,
      )
    }

    const applied = await migrateToLatest(db)
    assert.ok(applied.includes('20261206-image-url-path'), `applied: ${applied.join(', ')}`)
    if (DB_KIND === 'postgres') {
      const { rows } = await sql<{ is_nullable: string }>`select is_nullable from information_schema.columns
        where table_schema = current_schema() and table_name = 'images' and column_name = 'url_path'`.execute(
        db,
      )
      assert.equal(rows[0]?.is_nullable, 'NO', 'PostgreSQL refuses an image without its path')
    }
    const reads = new ImageReads(
      { local: urlOpening(local.deliveryBase), cloudflare: urlOpening(cloudflare.deliveryBase) },
      false,
    )
    for (const image of images) {
      const { rows } = await sql<{
        url_path: string
      }>`select url_path from images where id = ${image.id}`.execute(db)
      assert.equal(rows[0]?.url_path, image.provider.deliveryPath(image.cfImageId), image.cfImageId)
      const read = await reads.findById(db, image.id)
      assert.ok(read)
      const answered = JSON.parse(read.json)
      assert.equal(answered.url, deliveryUrl(image.provider, image.cfImageId), image.cfImageId)
      assert.equal(answered.createdAt, now)
      assert.equal(answered.cfImageId, image.cfImageId)
    }
  })
})
