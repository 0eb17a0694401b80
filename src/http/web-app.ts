import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import type { App } from './app-types.js'

/**
 * The web app (web/, built by Vite into dist/web): static files served by the
 * API's own process. Hashed assets (`/assets/…`) never change under their
 * name, so they are cached for a year as immutable; `index.html` names the
 * current ones and is revalidated on every load (`no-cache`, with an ETag).
 * The app's page carries a strict Content-Security-Policy: scripts and styles
 * only from this origin (no inline script), images from here and the image
 * provider, requests only to this origin. API answers are left as they were.
 */

interface Asset {
  body: Buffer
  gzip: Buffer | null
  type: string
  etag: string
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
}
const IMMUTABLE = 'public, max-age=31536000, immutable'

/** The folder `npm run build` writes: dist/web beside the code, whether it runs built (dist/src) or from src with tsx. */
export function defaultWebDir(): string | null {
  const here = import.meta.dirname
  const candidates = [path.resolve(here, '../../web'), path.resolve(here, '../../dist/web')]
  return candidates.find((dir) => existsSync(path.join(dir, '.vite', 'manifest.json'))) ?? null
}

/** Reads the whole built app into memory (a few hundred KiB) with a gzipped copy of what compresses. */
function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (rel.startsWith('.vite')) continue
    const file = path.join(dir, rel)
    const type = TYPES[path.extname(rel)]
    if (!type) continue
    let body: Buffer
    try {
      body = readFileSync(file)
    } catch {
      continue // a folder
    }
    const compressible = !type.startsWith('image/png') && body.length > 512
    const gzip = compressible ? gzipSync(body, { level: 9 }) : null
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(`/${rel.split(path.sep).join('/')}`, { body, gzip, type, etag })
  }
  return assets
}

/** The page's policy: nothing inline, nothing from elsewhere but the provider's images. */
export function contentSecurityPolicy(config: Pick<Config, 'publicUrl' | 'imageProvider'>): string {
  const images = ["'self'", 'data:', 'blob:', new URL(config.publicUrl).origin]
  if (config.imageProvider === 'cloudflare') images.push('https://imagedelivery.net')
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${[...new Set(images)].join(' ')}`,
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

export function webAppRoutes(app: App, config: Config): void {
  const dir = config.webDir ?? defaultWebDir()
  const assets = dir && existsSync(path.join(dir, 'index.html')) ? load(dir) : new Map<string, Asset>()
  const index = assets.get('/index.html')
  const csp = contentSecurityPolicy(config)

  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset, cache: string) => {
    reply
      .header('content-type', asset.type)
      .header('cache-control', cache)
      .header('etag', asset.etag)
      .header('x-content-type-options', 'nosniff')
      .header('vary', 'Accept-Encoding')
    if (asset.type.startsWith('text/html'))
      reply
        .header('content-security-policy', csp)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send()
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    if (gzip) reply.header('content-encoding', 'gzip')
    return reply.send(gzip ? asset.gzip : asset.body)
  }

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!index)
      return reply
        .code(404)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('The web app is not built: run `npm run build` (npm start does), or set WEB_DIR.\n')
    return send(req, reply, index, 'no-cache')
  }
  const hide = { schema: { hide: true } }
  app.get('/', hide, page)
  app.get('/index.html', hide, page)
  app.get('/assets/*', hide, async (req, reply) => {
    const asset = assets.get(req.url.split('?')[0] ?? '')
    if (!asset) return reply.callNotFound()
    return send(req, reply, asset, IMMUTABLE)
  })
  // Files Vite copies from web/public keep their names, so they are revalidated like the page.
  for (const [name, asset] of assets)
    if (!name.startsWith('/assets/') && name !== '/index.html')
      app.get(name, hide, async (req, reply) => send(req, reply, asset, 'no-cache'))
}
