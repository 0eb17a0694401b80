import sharp from 'sharp'

/**
 * Bounds what libvips keeps between images. Its operation cache holds the
 * last 100 operations with their pixels (up to 50 MiB) for a repeat of the
 * same operation on the same input; here every decode reads new bytes (an
 * upload, a blob read for a variant), so it never hits and only holds memory,
 * which the soak (bench/SOAK.md) saw as RSS that kept climbing. Rendered
 * variants have their own cache on disk.
 */
export function boundImageMemory(): void {
  sharp.cache(false)
}
