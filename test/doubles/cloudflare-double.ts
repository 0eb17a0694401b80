import { randomBytes, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fail, LIMITS, ok, type Reply, readUpload } from './cloudflare-double-upload.js'

/**
 * A local stand-in for the Cloudflare Images API, written to /work/shared/CLOUDFLARE.md
 * (not to Pictura's adapter): the envelope, Bearer auth, the account-scoped
 * storage endpoints, 404/409/413/415/429, and switches to inject failures.
 *
 * Choices where the contract is silent, kept close to what Cloudflare is seen to answer:
 * a bad token or another account answers 403 code 10000; a duplicate custom id answers
 * 409 code 5409; oversize 413 code 5413; unsupported or undecodable 415 code 5415; a
 * bad field 400 code 5400; a throttled call 429 code 971 with `retry-after`.
 * Direct uploads, variants, keys and batch tokens are not served (404 code 7003).
 */

export interface StoredImage {
  id: string
  filename: string
  meta: Record<string, unknown>
  creator: string | null
  requireSignedURLs: boolean
  uploaded: string
  bytes: Buffer
  mime: string
  /** Upload order, the list cursor. */
  seq: number
}

export interface Failure {
  /** HTTP status to answer (default 503); 200 answers `success: false` with HTTP 200. Unused by network/hang. */
  status?: number
  /** How many matching requests fail (default 1). */
  times?: number
  /** Seconds, sent as `retry-after` (429 by default gets 1). */
  retryAfter?: number
  message?: string
  code?: number
  /** Only requests with this method / whose path (after `/accounts/{id}/images`) matches. */
  method?: string
  path?: RegExp
  /** Drop the connection without an answer (a network error). */
  network?: boolean
  /** Carry the request out, then answer the failure: the reply is lost, the effect is not. */
  afterApply?: boolean
  /** Carry the request out and never answer (until close): a caller that dies waiting, e.g. a killed worker. */
  hang?: boolean
}

export interface RequestRecord {
  method: string
  /** Path after `/accounts/{id}/images`, with its query string. */
  path: string
  /** The HTTP status; -1 for a dropped connection, -2 for a request left unanswered. */
  status: number
}

export interface CloudflareDoubleOptions {
  accountId?: string
  accountHash?: string
  token?: string
  /** The most images a v2 list page returns, whatever `per_page` asks (Cloudflare: 1000). */
  pageCap?: number
  /** Name of the user metadata field in replies: `meta` (API reference) or `metadata` (older docs). */
  metaField?: 'meta' | 'metadata'
}

/** Pseudo statuses: drop the connection, or keep it open without an answer. */
const DROP = -1
const HANG = -2

export class CloudflareDouble extends EventEmitter<{ upload: [StoredImage]; request: [RequestRecord] }> {
  readonly images = new Map<string, StoredImage>()
  readonly requests: RequestRecord[] = []
  readonly accountId: string
  readonly accountHash: string
  readonly token: string
  private readonly failures: Failure[] = []
  private readonly hung: ServerResponse[] = []
  private seq = 0
  private server!: Server
  apiBase = ''

  private constructor(private readonly options: CloudflareDoubleOptions) {
    super()
    this.accountId = options.accountId ?? randomBytes(16).toString('hex')
    this.accountHash = options.accountHash ?? randomBytes(16).toString('base64url').slice(0, 22)
    this.token = options.token ?? `cf_${randomBytes(20).toString('base64url')}`
  }

  static async start(options: CloudflareDoubleOptions = {}): Promise<CloudflareDouble> {
    const double = new CloudflareDouble(options)
    double.server = createServer((req, res) => void double.handle(req, res))
    await new Promise<void>((resolve) => double.server.listen(0, '127.0.0.1', resolve))
    const { port } = double.server.address() as AddressInfo
    double.apiBase = `http://127.0.0.1:${port}/client/v4`
    return double
  }

  /** The variables that point Pictura at this double. */
  env(): Record<string, string> {
    return {
      IMAGE_PROVIDER: 'cloudflare',
      CF_ACCOUNT_ID: this.accountId,
      CF_ACCOUNT_HASH: this.accountHash,
      CF_API_TOKEN: this.token,
      CF_API_BASE: this.apiBase,
    }
  }

  failNext(failure: Failure): void {
    this.failures.push({ times: 1, ...failure })
  }

  /** Requests answered so far, by method and path pattern. */
  count(method?: string, path?: RegExp): number {
    return this.requests.filter((r) => (!method || r.method === method) && (!path || path.test(r.path)))
      .length
  }

  /** Puts an image straight into the store (no request is counted), e.g. an orphan for the sweep. */
  plant(image: Partial<Omit<StoredImage, 'seq'>> = {}): StoredImage {
    const stored: StoredImage = {
      id: image.id ?? randomUUID(),
      filename: image.filename ?? 'planted.png',
      meta: image.meta ?? {},
      creator: image.creator ?? null,
      requireSignedURLs: image.requireSignedURLs ?? false,
      uploaded: image.uploaded ?? new Date().toISOString(),
      bytes: image.bytes ?? Buffer.alloc(0),
      mime: image.mime ?? 'image/png',
      seq: ++this.seq,
    }
    this.images.set(stored.id, stored)
    return stored
  }

  close(): Promise<void> {
    for (const res of this.hung) res.destroy()
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double')
    const prefix = `/client/v4/accounts/${this.accountId}/images`
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname
    const record: RequestRecord = { method: req.method ?? 'GET', path: `${path}${url.search}`, status: 0 }
    let reply: Reply
    try {
      reply = await this.route(req, url, path, record)
    } catch (err) {
      reply = fail(500, 5500, `double: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (reply.status === HANG) {
      this.hung.push(res)
    } else if (reply.status === DROP) {
      req.resume()
      res.socket?.destroy()
    } else {
      req.resume()
      const body = Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body)
      res.writeHead(reply.status, {
        'content-type': Buffer.isBuffer(reply.body) ? 'application/octet-stream' : 'application/json',
        ...reply.headers,
      })
      res.end(body)
    }
    record.status = reply.status
    this.requests.push(record)
    this.emit('request', record)
  }

  private async route(req: IncomingMessage, url: URL, path: string, record: RequestRecord): Promise<Reply> {
    if (!url.pathname.startsWith('/client/v4/accounts/')) return fail(404, 7003, 'No route for the URI')
    if (
      req.headers.authorization !== `Bearer ${this.token}` ||
      !url.pathname.startsWith(`/client/v4/accounts/${this.accountId}/`)
    )
      return fail(403, 10000, 'Authentication error')
    const failure = this.takeFailure(record)
    if (failure && !failure.afterApply && !failure.hang) return failureReply(failure)
    const reply = await this.dispatch(req, url, path)
    if (failure?.hang) return { status: HANG, body: null }
    return failure ? failureReply(failure) : reply
  }

  private takeFailure(record: RequestRecord): Failure | undefined {
    const i = this.failures.findIndex(
      (f) => (!f.method || f.method === record.method) && (!f.path || f.path.test(record.path)),
    )
    if (i < 0) return undefined
    const failure = this.failures[i]!
    failure.times = (failure.times ?? 1) - 1
    if (failure.times <= 0) this.failures.splice(i, 1)
    return failure
  }

  private async dispatch(req: IncomingMessage, url: URL, path: string): Promise<Reply> {
    const method = req.method ?? 'GET'
    if (path === '/v1' && method === 'POST') return this.upload(req)
    if (path === '/v1' && method === 'GET') return this.listV1(url)
    if (path === '/v2' && method === 'GET') return this.listV2(url)
    if (path === '/v1/stats' && method === 'GET')
      return ok({ count: { allowed: 100_000, current: this.images.size } })
    if (/^\/v1\/(variants|keys|config|batch_token)(\/|$)/.test(path) || !path.startsWith('/v1/'))
      return fail(404, 7003, 'No route for the URI')
    const blob = path.endsWith('/blob') && method === 'GET'
    const id = decodeURIComponent(path.slice('/v1/'.length, blob ? -'/blob'.length : undefined))
    const image = this.images.get(id)
    if (!image) return fail(404, 5404, 'Image not found')
    if (blob) return { status: 200, body: image.bytes, headers: { 'content-type': image.mime } }
    if (method === 'GET') return ok(this.view(image))
    if (method === 'DELETE') {
      this.images.delete(id)
      return ok({})
    }
    if (method === 'PATCH') return this.patch(req, image)
    return fail(405, 10405, 'Method not allowed')
  }

  private async upload(req: IncomingMessage): Promise<Reply> {
    const upload = await readUpload(req, (id) => this.images.has(id))
    if ('status' in upload) return upload
    const image = this.plant(upload)
    this.emit('upload', image)
    return ok(this.view(image))
  }

  private async patch(req: IncomingMessage, image: StoredImage): Promise<Reply> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: { metadata?: unknown; requireSignedURLs?: unknown; creator?: unknown }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      return fail(400, 5400, 'Bad request: the body must be JSON')
    }
    if (body.metadata !== undefined) {
      if (
        !body.metadata ||
        typeof body.metadata !== 'object' ||
        JSON.stringify(body.metadata).length > LIMITS.metadata
      )
        return fail(400, 5400, 'Bad request: metadata must be a JSON object of at most 1024 bytes')
      image.meta = body.metadata as Record<string, unknown>
    }
    if (typeof body.requireSignedURLs === 'boolean') image.requireSignedURLs = body.requireSignedURLs
    if (typeof body.creator === 'string') image.creator = body.creator
    return ok(this.view(image))
  }

  private listV1(url: URL): Reply {
    const page = Number(url.searchParams.get('page') ?? '1')
    const perPage = Number(url.searchParams.get('per_page') ?? '1000')
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 10 || perPage > 10_000)
      return fail(400, 5400, 'Bad request: page must be >= 1 and per_page 10-10000')
    const all = this.filtered(url).sort((a, b) => b.seq - a.seq)
    return ok({ images: all.slice((page - 1) * perPage, page * perPage).map((i) => this.view(i)) })
  }

  private listV2(url: URL): Reply {
    const perPage = Number(url.searchParams.get('per_page') ?? '1000')
    const order = url.searchParams.get('sort_order') ?? 'desc'
    if (!Number.isInteger(perPage) || perPage < 10 || perPage > 10_000)
      return fail(400, 5400, 'Bad request: per_page must be 10-10000')
    if (order !== 'asc' && order !== 'desc')
      return fail(400, 5400, 'Bad request: sort_order must be asc or desc')
    const token = url.searchParams.get('continuation_token')
    let after: number | null = null
    if (token) {
      after = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^seq:/, ''))
      if (!Number.isInteger(after)) return fail(400, 5400, 'Bad request: invalid continuation_token')
    }
    // The cursor is the last upload seen, so deletes during a walk neither skip nor repeat images.
    const all = this.filtered(url)
      .sort((a, b) => (order === 'asc' ? a.seq - b.seq : b.seq - a.seq))
      .filter((i) => after === null || (order === 'asc' ? i.seq > after : i.seq < after))
    const page = all.slice(0, Math.min(perPage, this.options.pageCap ?? 1000))
    const more = all.length > page.length
    return ok({
      images: page.map((i) => this.view(i)),
      continuation_token: more ? Buffer.from(`seq:${page.at(-1)!.seq}`).toString('base64url') : null,
    })
  }

  private filtered(url: URL): StoredImage[] {
    const creator = url.searchParams.get('creator')
    return [...this.images.values()].filter((i) => creator === null || (i.creator ?? '') === creator)
  }

  private view(image: StoredImage) {
    const id = image.id.replaceAll('%', '%25')
    return {
      id: image.id,
      filename: image.filename,
      [this.options.metaField ?? 'meta']: image.meta,
      creator: image.creator,
      requireSignedURLs: image.requireSignedURLs,
      uploaded: image.uploaded,
      variants: [`https://imagedelivery.net/${this.accountHash}/${id}/public`],
    }
  }
}

function failureReply(f: Failure): Reply {
  if (f.network) return { status: DROP, body: null }
  const status = f.status ?? 503
  if (status === 429)
    return fail(429, f.code ?? 971, f.message ?? 'Please wait and consider throttling your request speed', {
      'retry-after': String(f.retryAfter ?? 1),
    })
  const headers = f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : undefined
  return fail(
    status,
    f.code ?? (status === 200 ? 5500 : 5000 + (status % 1000)),
    f.message ?? 'Injected failure',
    headers,
  )
}
