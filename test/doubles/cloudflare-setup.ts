import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { FsBlobStore } from '../../src/platform/blob-store/fs-blob-store.js'
import {
  CloudflareImageProvider,
  type CloudflareImageProviderDeps,
} from '../../src/platform/image-provider/cloudflare-image-provider.js'
import { type ProviderUnderTest, seedBlob } from '../contract/image-provider.contract.js'
import { CloudflareDouble, type CloudflareDoubleOptions } from './cloudflare-double.js'

export interface CloudflareUnderTest extends ProviderUnderTest {
  provider: CloudflareImageProvider
  double: CloudflareDouble
  blobs: FsBlobStore
}

/** Short waits, so retry tests take milliseconds; 429 waits stay real (Retry-After is in seconds). */
export const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 5, maxRetryAfterMs: 5_000, timeoutMs: 5_000 }

/** The Cloudflare adapter over a fresh double and a blob store in a temp folder. */
export async function cloudflareUnderTest(
  options: {
    double?: CloudflareDoubleOptions
    retry?: CloudflareImageProviderDeps['retry']
    /** A token other than the double's, to see a refusal. */
    apiToken?: string
  } = {},
): Promise<CloudflareUnderTest> {
  const double = await CloudflareDouble.start(options.double)
  const root = mkdtempSync(path.join(tmpdir(), 'pictura-cf-'))
  const blobs = new FsBlobStore(root)
  const provider = new CloudflareImageProvider({
    config: {
      accountId: double.accountId,
      accountHash: double.accountHash,
      apiToken: options.apiToken ?? double.token,
      apiBase: double.apiBase,
    },
    blobs,
    idSecret: randomBytes(32),
    retry: options.retry ?? FAST_RETRY,
  })
  return {
    provider,
    double,
    blobs,
    seed: (bytes, mime) => seedBlob(blobs, bytes, mime),
    copies: async () => double.images.size,
    close: async () => {
      await double.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}
