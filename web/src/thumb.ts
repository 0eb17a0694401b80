import { thumbHashToDataURL } from 'thumbhash'

/** Placeholder images (data: PNG URLs) decoded from thumbhashes, kept for the tiles most recently shown. */
const cache = new Map<string, string>()
const LIMIT = 600

export function placeholder(hash: string | null | undefined): string | undefined {
  if (!hash) return undefined
  let url = cache.get(hash)
  if (url === undefined) {
    try {
      const raw = atob(hash)
      const bytes = new Uint8Array(raw.length)
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
      url = thumbHashToDataURL(bytes)
    } catch {
      url = ''
    }
    if (cache.size >= LIMIT) cache.delete(cache.keys().next().value as string)
    cache.set(hash, url)
  }
  return url || undefined
}

/** Delivery URLs of an image: the `url` is its `public` variant; others replace the last path segment. */
export function variantUrl(publicUrl: string, variant: string): string {
  return publicUrl.replace(/\/public$/, `/${variant}`)
}

/** srcset over flexible delivery variants (`w=…,format=auto`: AVIF or WebP where the browser takes them). */
export function srcset(publicUrl: string): string {
  return [
    `${variantUrl(publicUrl, 'w=320,format=auto')} 320w`,
    `${variantUrl(publicUrl, 'w=640,format=auto')} 640w`,
    `${variantUrl(publicUrl, 'w=1280,format=auto')} 1280w`,
  ].join(', ')
}

export function largeSrcset(publicUrl: string): string {
  return [
    `${variantUrl(publicUrl, 'w=1280,format=auto')} 1280w`,
    `${variantUrl(publicUrl, 'w=2048,format=auto')} 2048w`,
    `${publicUrl} 4096w`,
  ].join(', ')
}
