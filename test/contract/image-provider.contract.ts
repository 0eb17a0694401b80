import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import sharp from 'sharp'
import type { BlobStore } from '../../src/platform/blob-store/blob-store.js'
import {
  deliveryUrl,
  type ImageProvider,
  type ProviderCopy,
  type ProviderUpload,
} from '../../src/platform/image-provider/image-provider.js'
import { newId } from '../../src/shared/ids.js'

/** One implementation under test, with the means to feed it and to see what it really holds. */
export interface ProviderUnderTest {
  provider: ImageProvider
  /** Stores the bytes where the provider reads them and returns an upload of them (fresh ids). */
  seed(bytes: Buffer, mime: string): Promise<ProviderUpload>
  /** How many copies the provider's storage holds, seen from outside the provider. */
  copies(): Promise<number>
  close(): Promise<void>
}

/** Stores bytes under a fresh key and describes them as the provision job would. */
export async function seedBlob(
  blobs: BlobStore,
  bytes: Buffer,
  mime: string,
  ids: { workspaceId?: string; fileId?: string; imageId?: string } = {},
): Promise<ProviderUpload> {
  const workspaceId = ids.workspaceId ?? newId('ws')
  const fileId = ids.fileId ?? newId('fil')
  const blobKey = `${workspaceId}/${fileId}`
  await blobs.put(blobKey, Readable.from([bytes]), { maxBytes: 1024 * 1024 * 1024 })
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => null)
  return {
    imageId: ids.imageId ?? newId('img'),
    fileId,
    workspaceId,
    blobKey,
    mime,
    size: bytes.length,
    width: meta?.autoOrient?.width ?? meta?.width ?? 1,
    height: meta?.autoOrient?.height ?? meta?.height ?? 1,
  }
}

/** Bits an id can carry, from the alphabet it is written in (hex 4, base32 5, base64url 6 per character). */
function idBits(id: string): number {
  const perChar = /^[0-9a-f-]+$/i.test(id) ? 4 : /^[0-9a-z]+$/.test(id) ? 5 : 6
  return id.replace(/-/g, '').length * perChar
}

async function listAll(provider: ImageProvider): Promise<ProviderCopy[]> {
  const copies: ProviderCopy[] = []
  for await (const copy of provider.list!()) copies.push(copy)
  return copies
}

/**
 * The guarantees of the ImageProvider port (src/platform/image-provider/image-provider.ts),
 * asserted the same way against every implementation.
 */
export function imageProviderContract(
  name: string,
  make: () => Promise<ProviderUnderTest>,
  options: { lists: boolean },
): void {
  describe(`ImageProvider contract: ${name}`, () => {
    let sut: ProviderUnderTest
    let png: Buffer
    before(async () => {
      sut = await make()
      png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
        .png()
        .toBuffer()
    })
    after(() => sut.close())

    it('gives each image an unguessable or deterministic id of at least 128 bits', async () => {
      const a = await sut.provider.upload(await sut.seed(png, 'image/png'))
      const b = await sut.provider.upload(await sut.seed(png, 'image/png'))
      assert.notEqual(a.cfImageId, b.cfImageId, 'two images, even with the same bytes, are two copies')
      for (const { cfImageId } of [a, b]) {
        assert.ok(idBits(cfImageId) >= 128, `${cfImageId} carries fewer than 128 bits`)
        assert.doesNotMatch(cfImageId, /[?#%\s]/, 'an id must be safe in a URL path')
      }
    })

    it('keeps one copy when the same image is uploaded twice (a retried job)', async () => {
      const input = await sut.seed(png, 'image/png')
      const before = await sut.copies()
      const first = await sut.provider.upload(input)
      const second = await sut.provider.upload(input)
      assert.equal(second.cfImageId, first.cfImageId)
      assert.equal(await sut.copies(), before + 1)
    })

    it('builds well-formed delivery URLs, public by default', async () => {
      const { cfImageId } = await sut.provider.upload(await sut.seed(png, 'image/png'))
      const url = new URL(deliveryUrl(sut.provider, cfImageId, 'public'))
      assert.match(url.protocol, /^https?:$/)
      assert.ok(url.pathname.endsWith(`/${cfImageId}/public`), url.href)
      assert.equal(deliveryUrl(sut.provider, cfImageId), url.href)
      assert.ok(
        new URL(deliveryUrl(sut.provider, cfImageId, 'thumbnail')).pathname.endsWith(
          `/${cfImageId}/thumbnail`,
        ),
      )
    })

    it('deletes a copy, and deleting it again (or an unknown one) succeeds', async () => {
      const { cfImageId } = await sut.provider.upload(await sut.seed(png, 'image/png'))
      const before = await sut.copies()
      await sut.provider.delete(cfImageId)
      assert.equal(await sut.copies(), before - 1)
      await sut.provider.delete(cfImageId)
      await sut.provider.delete(`${cfImageId.slice(0, -4)}beef`)
      assert.equal(await sut.copies(), before - 1)
    })

    if (!options.lists) {
      it('declares that it keeps no list of copies', () => {
        assert.equal(sut.provider.list, undefined)
      })
      return
    }

    it('lists the copies it holds with our image ids, and no deleted one', async () => {
      const kept = await sut.seed(png, 'image/png')
      const gone = await sut.seed(png, 'image/png')
      const { cfImageId } = await sut.provider.upload(kept)
      const deleted = await sut.provider.upload(gone)
      await sut.provider.delete(deleted.cfImageId)
      const copies = await listAll(sut.provider)
      assert.deepEqual(
        copies.filter((c) => c.cfImageId === cfImageId).map((c) => c.imageId),
        [kept.imageId],
      )
      assert.ok(!copies.some((c) => c.cfImageId === deleted.cfImageId), 'a deleted copy is not listed')
      assert.equal(copies.length, await sut.copies())
    })
  })
}
