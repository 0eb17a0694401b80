import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CF_IMAGE_ID, VariantCache } from '../../src/features/delivery/variant-cache.js'
import { FsBlobStore } from '../../src/platform/blob-store/fs-blob-store.js'
import { LocalImageProvider } from '../../src/platform/image-provider/local-image-provider.js'
import { imageProviderContract, seedBlob } from '../contract/image-provider.contract.js'

imageProviderContract(
  'local',
  async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pictura-local-provider-'))
    const blobs = new FsBlobStore(path.join(root, 'blobs'))
    const cacheRoot = path.join(root, 'cache')
    const provider = new LocalImageProvider({
      publicUrl: 'http://127.0.0.1:8787',
      idSecret: randomBytes(32),
      variants: new VariantCache(cacheRoot, 1024 * 1024),
    })
    return {
      provider,
      seed: (bytes, mime) => seedBlob(blobs, bytes, mime),
      // The local provider's copies are the image folders it holds in the variant cache.
      copies: async () =>
        (await readdir(cacheRoot).catch(() => [])).filter((d) => CF_IMAGE_ID.test(d)).length,
      close: async () => rmSync(root, { recursive: true, force: true }),
    }
  },
  { lists: false },
)
