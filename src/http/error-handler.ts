import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isDatabaseUnavailable } from '../platform/db/errors.js'
import { AppError, type ErrorCode, errors } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import { storageFailure } from '../shared/storage-failure.js'

interface ValidationIssue {
  instancePath?: string
  message?: string
  params?: Record<string, unknown>
}

const byStatus: Record<number, ErrorCode> = {
  400: 'invalid_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

/** Turns any thrown value into the one error envelope; unknown errors leak nothing. */
export function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err
  // Unreachable, hung, restarting or (SQLite) locked by another writer for too long: come back later.
  if (isDatabaseUnavailable(err))
    return errors.unavailable('The database is unavailable; try again later', err)
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string }
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    const issue = fe.validation[0]!
    const field = fieldOf(issue)
    const where =
      fe.validationContext === 'querystring' ? 'query parameter' : (fe.validationContext ?? 'request')
    const what =
      issue.params?.additionalProperty !== undefined ? 'is not allowed' : (issue.message ?? 'is invalid')
    return new AppError('invalid_request', `Invalid ${where} ${field ? `'${field}' ` : ''}${what}`.trim(), {
      field: field || undefined,
      in: fe.validationContext,
    })
  }
  const storage = storageFailure(err)
  if (storage) return storage
  const code = typeof fe.statusCode === 'number' ? byStatus[fe.statusCode] : undefined
  if (code) {
    const message = code === 'invalid_request' ? safeMessage(fe) : (fe.message ?? code)
    return new AppError(code, message)
  }
  return null
}

function fieldOf(issue: ValidationIssue): string {
  const extra = issue.params?.additionalProperty ?? issue.params?.missingProperty
  const base = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.')
  if (typeof extra === 'string') return base ? `${base}.${extra}` : extra
  return base
}

function safeMessage(err: Partial<FastifyError>): string {
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'The JSON body is empty'
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError)
    return 'The body is not valid JSON'
  return 'The request is malformed'
}

/** Answers every error in the envelope; what the caller may not see (a bug, an internal error) is logged with the request id. */
export function errorHandler(log: Logger) {
  // A database outage fails every request alike: one line every OUTAGE_LOG_MS says so, with how many
  // requests failed since the last one; each request's own line goes to debug.
  let quietUntil = 0
  let quieted = 0
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(err)
    if (!appError || appError.code === 'internal')
      log.error({ err, reqId: request.id }, appError ? 'internal error' : 'unhandled error')
    // A dependency's failure is the operator's to see (the client only learns to come back later).
    else if (appError.status >= 503) {
      const line = { err: appError.cause ?? appError, reqId: request.id, code: appError.code }
      const now = Date.now()
      if (!isDatabaseUnavailable(appError.cause)) log.warn(line, appError.message)
      else if (now < quietUntil) {
        quieted++
        log.debug(line, appError.message)
      } else {
        log.warn({ ...line, failedSinceLastLine: quieted }, appError.message)
        quietUntil = now + OUTAGE_LOG_MS
        quieted = 0
      }
    }
    return sendError(reply, appError ?? new AppError('internal', 'Internal server error'))
  }
}

const OUTAGE_LOG_MS = 10_000

export function sendError(reply: FastifyReply, error: AppError) {
  if (error.code === 'unauthorized') reply.header('WWW-Authenticate', 'Bearer')
  if (error.code === 'rate_limited') reply.header('Retry-After', String(error.details?.retryAfter ?? 60))
  if (error.code === 'unavailable') reply.header('Retry-After', String(error.details?.retryAfter ?? 5))
  const details =
    error.details && Object.values(error.details).some((v) => v !== undefined) ? error.details : undefined
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({ error: { code: error.code, message: error.message, ...(details ? { details } : {}) } })
}
