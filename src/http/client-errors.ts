import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, errors } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import type { App } from './app-types.js'
import { sendError } from './error-handler.js'

/**
 * What Node's HTTP parser and Fastify answer before any route or our error
 * handler runs, in the one envelope of API.md: a malformed request (400), a
 * request whose headers never end in time (408), headers or a request line
 * over Node's limit (431, 414), a bad or too long URL (400, 414), and a
 * request that arrives while the server shuts down (503).
 */

interface ClientError extends Error {
  code?: string
  /** The bytes Node had read of the request when it failed (a Buffer). */
  rawPacket?: unknown
}

/** Fastify's `clientErrorHandler`: Node's `clientError`, answered on the raw socket. */
export function clientErrorHandler(log: Logger) {
  return (err: ClientError, socket: Socket) => {
    // The client went away (a reset, an aborted request): there is no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const { status, message } = describeClientError(err)
    log.debug({ err: { code: err.code, message: err.message }, status }, 'client error')
    if (socket.writable) socket.write(rawAnswer(status, 'invalid_request', message))
    socket.destroy()
  }
}

function describeClientError(err: ClientError): { status: number; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, message: 'The request did not arrive in time' }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line with the headers: still on the first line, it is the URL that is too long.
    return onRequestLine(err.rawPacket)
      ? { status: 414, message: 'The URL is too long' }
      : { status: 431, message: 'The request headers are too large' }
  }
  return { status: 400, message: 'The request is not valid HTTP' }
}

/** The chunk Node was parsing (`rawPacket`) starts a request line that it does not end. */
function onRequestLine(chunk: unknown): boolean {
  if (!Buffer.isBuffer(chunk)) return false
  return /^[A-Z]{3,10} [^\s]/.test(chunk.subarray(0, 16).toString('latin1')) && !chunk.includes('\r\n')
}

/** A whole HTTP/1.1 answer with the envelope, for a socket no reply object owns. */
export function rawAnswer(status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message } })
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n')
}

/** Fastify's `frameworkErrors`: a URL its router cannot decode, or a path parameter over its length limit. */
export function frameworkErrors(
  err: Error & { code?: string },
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendStatus(reply, 414, 'The URL is too long')
  if (err.code === 'FST_ERR_BAD_URL') return sendStatus(reply, 400, 'The URL is not valid')
  return sendStatus(reply, 400, 'The request is malformed')
}

/** An `invalid_request` envelope under a status of its own (414), which no AppError code stands for. */
function sendStatus(reply: FastifyReply, status: number, message: string) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ error: { code: 'invalid_request', message } })
}

/**
 * Requests that arrive once the server is closing answer `503 unavailable`
 * with `Retry-After`, in the envelope (Fastify's own 503 is not; it is turned
 * off with `return503OnClosing: false`). Requests in flight finish. The app's
 * one `onRequest` hook asks `closing` (a hook of its own would cost every request).
 */
export function shutdownGate(app: App): { readonly closing: boolean; refuse(reply: FastifyReply): void } {
  const gate = {
    closing: false,
    refuse: (reply: FastifyReply) => {
      reply.header('connection', 'close')
      sendError(reply, errors.unavailable('The server is shutting down; try again', undefined, 1))
    },
  }
  app.addHook('preClose', (done) => {
    gate.closing = true
    done()
  })
  return gate
}
