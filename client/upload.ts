import { PicturaError } from './errors.js'
import { nodePost } from './node-http.js'
import type { components } from './schema.js'
import type { Fetch } from './transport.js'

export type FileObject = components['schemas']['File']

/**
 * What an upload reads: a file path (Node), a Blob or File, bytes already in
 * memory (a Uint8Array or Buffer), a web ReadableStream, or any async iterable
 * of bytes (a Node Readable, an fs.ReadStream). Paths, Blobs and streams are
 * streamed, never held whole in memory.
 */
export type UploadSource = string | Blob | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>

export interface UploadProgress {
  /** Bytes handed to the connection so far. */
  sent: number
  /** The size, when known (a path, a Blob, or `size` given). */
  total: number | undefined
}

export interface UploadOptions {
  workspaceId: string
  /** The file's name; defaults to a path's base name or a File's name, else the server names it by its id. */
  name?: string
  /** Called as bytes go out, and once more when the server has answered. */
  onProgress?: (progress: UploadProgress) => void
  /** The byte size of a stream source, when known: sent as Content-Length, so an oversize file is refused at once. */
  size?: number
  signal?: AbortSignal
}

export interface UploadContext {
  baseUrl: string
  headers: Record<string, string>
  send: Fetch
  /** In Node, send uploads with node:http rather than fetch (unless the client was given a fetch of its own). */
  nodeHttp: boolean
}

/** Node's fs, reached only for path sources, so the client still runs (and compiles) for browsers. */
interface NodeFs {
  promises: { stat(path: string): Promise<{ size: number; isFile(): boolean }> }
  createReadStream(path: string, options: { highWaterMark: number }): AsyncIterable<Uint8Array>
}

/** POST /api/files with the source's bytes as the raw body; answers the stored file. */
export async function uploadFile(
  ctx: UploadContext,
  source: UploadSource,
  options: UploadOptions,
): Promise<FileObject> {
  const opened = await open(source, options)
  const query = new URLSearchParams({ workspace_id: options.workspaceId })
  const name = options.name ?? opened.name
  if (name !== undefined) query.set('name', name)
  const url = `${ctx.baseUrl}/api/files?${query}`
  const headers: Record<string, string> = { ...ctx.headers, 'content-type': 'application/octet-stream' }
  const progress = (sent: number) => options.onProgress?.({ sent, total: opened.size })

  // Browsers stream a request body only over HTTP/2 and report no progress on fetch: a Blob goes by XHR there.
  if ((opened.blob || opened.bytes) && typeof XMLHttpRequest !== 'undefined' && !isNode()) {
    return xhrUpload(
      url,
      headers,
      opened.blob ?? new Blob([opened.bytes as BlobPart]),
      progress,
      options.signal,
    )
  }
  if (opened.size !== undefined) headers['content-length'] = String(opened.size)
  if (ctx.nodeHttp && isNode()) {
    let sent = 0
    const next = chunkReader(opened)
    const file = (await nodePost(
      url,
      headers,
      opened.bytes ?? next,
      (n) => {
        sent += n
        progress(sent)
      },
      options.signal,
    )) as FileObject
    progress(file.size)
    return file
  }
  let sent = 0
  // Without progress to report, bytes and Blobs go as they are: no stream to pump (small files go faster).
  const whole = opened.bytes ?? (options.onProgress ? undefined : opened.blob)
  const body =
    whole ??
    pullStream(opened.chunks(), (n) => {
      sent += n
      progress(sent)
    })
  const init = { method: 'POST', headers, body, duplex: 'half', signal: options.signal } as RequestInit
  const response = await ctx.send(new Request(url, init))
  const file = (await response.json()) as FileObject
  progress(file.size)
  return file
}

interface Opened {
  size: number | undefined
  name: string | undefined
  blob?: Blob
  bytes?: Uint8Array
  chunks: () => AsyncIterator<Uint8Array> | ReadableStreamDefaultReader<Uint8Array>
}

async function open(source: UploadSource, options: UploadOptions): Promise<Opened> {
  if (typeof source === 'string') {
    if (!isNode())
      throw new PicturaError(0, 'unexpected_response', 'A file path can only be uploaded from Node')
    // A variable specifier: bundlers for browsers leave it alone, and the branch never runs there.
    const specifier = 'node:fs'
    const fs = (await import(specifier)) as NodeFs
    const stat = await fs.promises.stat(source)
    if (!stat.isFile()) throw new PicturaError(0, 'unexpected_response', `${source} is not a file`)
    return {
      size: stat.size,
      name: source.split(/[\\/]/).pop() || undefined,
      chunks: () => fs.createReadStream(source, { highWaterMark: 64 * 1024 })[Symbol.asyncIterator](),
    }
  }
  if (source instanceof Uint8Array) {
    return { size: source.byteLength, name: undefined, bytes: source, chunks: () => once(source) }
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as Blob & { name?: unknown }).name
    return {
      size: source.size,
      name: typeof name === 'string' && name !== '' ? name : undefined,
      blob: source,
      chunks: () => source.stream().getReader(),
    }
  }
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    return { size: options.size, name: undefined, chunks: () => source.getReader() }
  }
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return {
      size: options.size,
      name: undefined,
      chunks: () => (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator](),
    }
  }
  throw new TypeError(
    'uploadFile: the source must be a path, a Blob, a ReadableStream or an async iterable of bytes',
  )
}

/**
 * A body that reads its source only when the connection asks for more
 * (highWaterMark 0): memory holds a chunk or two whatever the file's size.
 */
/** The source's next chunk, one read at a time. */
function chunkReader(opened: Opened): () => Promise<IteratorResult<Uint8Array>> {
  let source: AsyncIterator<Uint8Array> | ReadableStreamDefaultReader<Uint8Array> | undefined
  return async () => {
    source ??= opened.chunks()
    const r = await ('read' in source ? source.read() : source.next())
    if (r.done) return { done: true, value: undefined }
    const value = r.value as Uint8Array | string
    return { done: false, value: typeof value === 'string' ? new TextEncoder().encode(value) : value }
  }
}

function pullStream(
  source: AsyncIterator<Uint8Array> | ReadableStreamDefaultReader<Uint8Array>,
  onChunk: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const next = () => ('read' in source ? source.read() : source.next())
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await next()
        if (done) return controller.close()
        const chunk = typeof value === 'string' ? new TextEncoder().encode(value) : value
        controller.enqueue(chunk)
        onChunk(chunk.byteLength)
      },
      async cancel(reason) {
        if ('read' in source) await source.cancel(reason)
        else await source.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } } }
  return typeof g.process?.versions?.node === 'string'
}

/** A browser upload with progress events; answers as the transport would. */
function xhrUpload(
  url: string,
  headers: Record<string, string>,
  blob: Blob,
  progress: (sent: number) => void,
  signal: AbortSignal | undefined,
): Promise<FileObject> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', url)
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value)
    xhr.upload.onprogress = (e) => progress(e.loaded)
    xhr.onerror = () => reject(new PicturaError(0, 'network_error', `POST ${new URL(url).origin} failed`))
    xhr.onabort = () => reject(new PicturaError(0, 'aborted', 'The upload was aborted'))
    xhr.onload = () => {
      const response = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { 'x-request-id': xhr.getResponseHeader('x-request-id') ?? '' },
      })
      if (xhr.status >= 400) PicturaError.fromResponse(response).then(reject, reject)
      else {
        const file = JSON.parse(xhr.responseText) as FileObject
        progress(file.size)
        resolve(file)
      }
    }
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(blob)
  })
}
