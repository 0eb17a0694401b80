import { PicturaError } from './errors.js'

/**
 * Uploads over Node's own http module, on kept-alive connections. In Node,
 * fetch (undici) spends about three times the CPU of http.request on an
 * upload; for an import of many small files that is most of the client's
 * cost, and it shares the machine with the server. Only reached in Node, by a
 * variable specifier, so the client still bundles and compiles for browsers.
 */

/** The little of node:http and node:https used here (the client compiles without Node's types). */
interface NodeRequest {
  on(event: 'error', listener: (err: Error) => void): this
  once(event: 'drain' | 'close', listener: () => void): this
  write(chunk: Uint8Array): boolean
  end(chunk?: Uint8Array): void
  destroy(err?: Error): void
}
interface NodeResponse {
  statusCode?: number
  headers: Record<string, string | string[] | undefined>
  setEncoding(encoding: 'utf8'): void
  on(event: 'data', listener: (chunk: string) => void): this
  on(event: 'end' | 'error', listener: (err?: Error) => void): this
}
interface NodeHttp {
  Agent: new (options: { keepAlive: boolean }) => object
  request(url: string, options: object, callback: (res: NodeResponse) => void): NodeRequest
}

const agents = new Map<string, { http: NodeHttp; agent: object }>()

async function transportFor(protocol: string) {
  let t = agents.get(protocol)
  if (!t) {
    const specifier = protocol === 'https:' ? 'node:https' : 'node:http'
    const http = (await import(specifier)) as NodeHttp
    t = { http, agent: new http.Agent({ keepAlive: true }) }
    agents.set(protocol, t)
  }
  return t
}

/**
 * POSTs `body` (bytes, or chunks pulled one at a time, honouring
 * backpressure) and answers the parsed JSON of a success; an answer of 400
 * or more, or none, throws PicturaError as the transport would.
 */
export async function nodePost(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array | (() => Promise<IteratorResult<Uint8Array>>),
  onChunk: (bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const { http, agent } = await transportFor(new URL(url).protocol)
  let settled = false
  let abort = () => {}
  return new Promise<unknown>((resolve, reject) => {
    const fail = (err: Error) =>
      reject(
        signal?.aborted
          ? new PicturaError(0, 'aborted', 'The upload was aborted', undefined, { cause: err })
          : new PicturaError(
              0,
              'network_error',
              `POST ${new URL(url).origin} failed: ${err.message}`,
              undefined,
              {
                cause: err,
              },
            ),
      )
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        text += chunk
      })
      res.on('error', (err) => fail(err ?? new Error('response error')))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        if (status < 400) {
          try {
            resolve(JSON.parse(text))
          } catch {
            reject(new PicturaError(status, 'unexpected_response', `HTTP ${status}: the answer is not JSON`))
          }
          return
        }
        const answer = new Response(text, { status, headers: flatten(res.headers) })
        PicturaError.fromResponse(answer).then(reject, reject)
      })
    })
    req.on('error', fail)
    abort = () => req.destroy(new Error('aborted'))
    if (signal?.aborted) return abort()
    signal?.addEventListener('abort', abort, { once: true })
    if (body instanceof Uint8Array) {
      onChunk(body.byteLength)
      req.end(body)
      return
    }
    // Stops once the answer came (an early 413) or the connection closed.
    let closed = false
    req.once('close', () => {
      closed = true
    })
    const pump = async () => {
      while (!settled && !closed) {
        const { value, done } = await body()
        if (done) return req.end()
        onChunk(value.byteLength)
        if (!req.write(value))
          await new Promise<void>((r) => {
            req.once('drain', r)
            req.once('close', r)
          })
      }
    }
    pump().catch((err: Error) => req.destroy(err))
  }).finally(() => {
    settled = true
    // One signal may serve thousands of uploads (an import): its listeners must not pile up.
    signal?.removeEventListener('abort', abort)
  })
}

function flatten(headers: NodeResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
  return out
}
