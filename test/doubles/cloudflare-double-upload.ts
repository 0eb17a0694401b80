import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Busboy, type BusboyInstance } from '@fastify/busboy'
import sharp, { type Metadata } from 'sharp'

/** Cloudflare's documented limits for hosted images. */
export const LIMITS = { bytes: 10 * 1024 * 1024, side: 12_000, pixels: 100_000_000, metadata: 1024 }

export type Reply = { status: number; body: unknown; headers?: Record<string, string> }

export interface AcceptedUpload {
  id: string
  filename: string
  meta: Record<string, unknown>
  creator: string | null
  requireSignedURLs: boolean
  bytes: Buffer
  mime: string
}

export function ok(result: unknown): Reply {
  return { status: 200, body: { success: true, errors: [], messages: [], result, result_info: null } }
}

export function fail(status: number, code: number, message: string, headers?: Record<string, string>): Reply {
  return {
    status,
    body: { success: false, errors: [{ code, message }], messages: [], result: null },
    ...(headers ? { headers } : {}),
  }
}

/** Reads and checks `POST /images/v1`; a Reply when it is refused, the image to store otherwise. */
export async function readUpload(
  req: IncomingMessage,
  taken: (id: string) => boolean,
): Promise<Reply | AcceptedUpload> {
  let form: UploadForm
  try {
    form = await parseUpload(req, LIMITS.bytes)
  } catch (err) {
    return fail(400, 5400, `Bad request: ${err instanceof Error ? err.message : 'malformed multipart body'}`)
  }
  if (form.fileTooLarge) return fail(413, 5413, 'Image exceeds the maximum file size of 10 MB')
  if ((form.file === undefined) === (form.url === undefined))
    return fail(400, 5400, 'Bad request: provide either a file or a url')
  let bytes = form.file?.bytes
  if (form.url !== undefined) {
    const fetched = await fetch(form.url, { signal: AbortSignal.timeout(10_000) }).catch(() => null)
    if (!fetched?.ok) return fail(400, 5400, 'Bad request: the image could not be fetched from the url')
    bytes = Buffer.from(await fetched.arrayBuffer())
    if (bytes.length > LIMITS.bytes) return fail(413, 5413, 'Image exceeds the maximum file size of 10 MB')
  }
  let meta: Record<string, unknown> = {}
  if (form.metadata !== undefined) {
    if (Buffer.byteLength(form.metadata) > LIMITS.metadata)
      return fail(400, 5400, 'Bad request: metadata must not exceed 1024 bytes')
    try {
      meta = JSON.parse(form.metadata)
    } catch {
      return fail(400, 5400, 'Bad request: metadata must be a JSON object')
    }
    if (!meta || typeof meta !== 'object' || Array.isArray(meta))
      return fail(400, 5400, 'Bad request: metadata must be a JSON object')
  }
  const signed = form.requireSignedURLs
  if (signed !== undefined && signed !== 'true' && signed !== 'false')
    return fail(400, 5400, 'Bad request: requireSignedURLs must be true or false')
  if (form.id !== undefined) {
    if (form.id.length < 1 || form.id.length > 1024)
      return fail(400, 5400, 'Bad request: a custom id has 1 to 1024 characters')
    if (signed === 'true') return fail(400, 5400, 'Bad request: images with a custom id cannot be private')
    if (taken(form.id)) return fail(409, 5409, 'Resource already exists')
  }
  const mime = sniff(bytes!)
  if (!mime) return fail(415, 5415, 'Unsupported image format')
  const checked = await checkDimensions(bytes!, mime)
  if (checked) return checked
  return {
    id: form.id ?? randomUUID(),
    filename: form.file?.filename ?? new URL(form.url!).pathname.split('/').pop() ?? 'image',
    meta,
    creator: form.creator ?? null,
    requireSignedURLs: signed === 'true',
    bytes: bytes!,
    mime,
  }
}

/** The fields of `POST /images/v1`, named as Cloudflare names them. */
interface UploadForm {
  file?: { bytes: Buffer; filename: string }
  fileTooLarge: boolean
  url?: string
  id?: string
  metadata?: string
  requireSignedURLs?: string
  creator?: string
}

const FIELDS = new Set(['url', 'id', 'metadata', 'requireSignedURLs', 'creator'])

/** Parses the multipart body; files past `maxBytes` are flagged, not kept. Rejects a body that is not multipart. */
function parseUpload(req: IncomingMessage, maxBytes: number): Promise<UploadForm> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type']
    if (!type?.startsWith('multipart/form-data')) {
      reject(new Error('the body must be multipart/form-data'))
      return
    }
    const form: UploadForm = { fileTooLarge: false }
    const files: Promise<void>[] = []
    let busboy: BusboyInstance
    try {
      busboy = new Busboy({
        headers: { ...req.headers, 'content-type': type },
        limits: { fileSize: maxBytes },
      })
    } catch (err) {
      reject(err)
      return
    }
    busboy.on('file', (name, stream, filename) => {
      if (name !== 'file') {
        stream.resume()
        return
      }
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      files.push(
        new Promise((done) =>
          stream.on('end', () => {
            if (stream.truncated) form.fileTooLarge = true
            else form.file = { bytes: Buffer.concat(chunks), filename: filename || 'image' }
            done()
          }),
        ),
      )
    })
    busboy.on('field', (name, value) => {
      if (FIELDS.has(name)) form[name as 'id'] = value
    })
    busboy.on('finish', () => void Promise.all(files).then(() => resolve(form)))
    busboy.on('error', reject)
    req.pipe(busboy)
  })
}

/** Input formats Cloudflare accepts, by magic bytes. */
function sniff(b: Buffer): string | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg'
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png'
  if (b.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif'
  if (b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp'
  if (b.subarray(4, 8).toString('latin1') === 'ftyp') {
    const brand = b.subarray(8, 12).toString('latin1')
    if (brand === 'avif' || brand === 'avis') return 'image/avif'
    if (['heic', 'heix', 'mif1', 'msf1', 'hevc'].includes(brand)) return 'image/heic'
  }
  const head = b.subarray(0, 1024).toString('utf8').trimStart().toLowerCase()
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'image/svg+xml'
  return null
}

async function checkDimensions(bytes: Buffer, mime: string): Promise<Reply | null> {
  if (mime === 'image/svg+xml') return null
  let meta: Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    // The decoder here may lack HEIC; Cloudflare decodes it, so only other formats count as corrupt.
    return mime === 'image/heic' ? null : fail(415, 5415, 'The image could not be decoded')
  }
  const width = meta.width ?? 0
  const height = meta.pageHeight ?? meta.height ?? 0
  const area = width * height * (meta.pages ?? 1)
  const maxSide = mime === 'image/avif' ? 1_200 : LIMITS.side
  if (Math.max(width, height) > maxSide)
    return fail(413, 5413, `Image dimensions exceed the limit of ${maxSide} pixels per side`)
  if (area > LIMITS.pixels) return fail(413, 5413, 'Image exceeds the 100 megapixel area limit')
  return null
}
