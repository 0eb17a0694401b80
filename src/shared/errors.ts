/** The closed set of error codes every answer of the API may carry. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_cursor'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal'
  | 'unavailable'
  | 'insufficient_storage'

export const statusOf: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  insufficient_storage: 507,
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'AppError'
  }

  get status(): number {
    return statusOf[this.code]
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** Small factories so services never build HTTP answers themselves. */
export const errors = {
  invalid: (message: string, field?: string) =>
    new AppError('invalid_request', message, field ? { field } : undefined),
  invalidCursor: () => new AppError('invalid_cursor', 'The cursor is not valid for this list'),
  unauthorized: (message = 'A valid bearer token is required') => new AppError('unauthorized', message),
  forbidden: (message = 'Your role does not allow this') => new AppError('forbidden', message),
  notFound: (resource: string) => new AppError('not_found', `${capitalise(resource)} not found`),
  conflict: (message: string) => new AppError('conflict', message),
  tooLarge: (limit: number) =>
    new AppError('payload_too_large', `The upload exceeds the limit of ${limit} bytes`, { limit }),
  unsupportedMedia: (message: string) => new AppError('unsupported_media_type', message),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('rate_limited', 'Too many requests', { retryAfter: retryAfterSeconds }),
  /** A dependency (the object store) is unreachable, too slow or refusing: try again later (`Retry-After`). */
  unavailable: (message: string, cause?: unknown, retryAfterSeconds = 5) =>
    withCause(new AppError('unavailable', message, { retryAfter: retryAfterSeconds }), cause),
  /** The disk or the object store is full (or over its quota). */
  insufficientStorage: (message: string, cause?: unknown) =>
    withCause(new AppError('insufficient_storage', message), cause),
}

/** The underlying failure, for the log only: an answer never shows it. */
function withCause(error: AppError, cause: unknown): AppError {
  if (cause !== undefined) error.cause = cause
  return error
}
