import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { AppError, errors } from '../../shared/errors.js'
import type { UploadBody } from './files.service.js'

/** Room for multipart framing and the few small fields next to the file (bounded by the limits below). */
const MULTIPART_OVERHEAD = 1024 * 1024

/**
 * The bytes of an upload, not yet read: the part named `file` of a
 * multipart/form-data body, or the raw body of any other type. A declared
 * Content-Length that cannot fit is refused before a byte is read; the exact
 * cap on the file's bytes is the blob store's, while they stream.
 */
export async function openUploadBody(req: FastifyRequest, maxBytes: number): Promise<UploadBody> {
  // 415 is the answer for a body we cannot take as sent (RFC 9110 15.5.16): we store bytes as they
  // come and never inflate them, so a content coding would be stored instead of the file.
  const coding = req.headers['content-encoding']?.trim().toLowerCase()
  if (coding && coding !== 'identity') {
    throw errors.unsupportedMedia(
      `Content-Encoding ${coding} is not accepted: send the file's bytes as they are`,
    )
  }
  const declared = contentLength(req)
  if (req.isMultipart()) {
    if (declared !== undefined && declared > maxBytes + MULTIPART_OVERHEAD) throw errors.tooLarge(maxBytes)
    return multipartFile(req, maxBytes)
  }
  if (declared !== undefined && declared > maxBytes) throw errors.tooLarge(maxBytes)
  return { stream: req.body instanceof Readable ? req.body : req.raw }
}

/**
 * The first file part, which must be named `file`; a multipart body without
 * one is a malformed request for this endpoint (400 naming `file`), not an
 * unsupported media type: multipart/form-data is a type we take.
 */
async function multipartFile(req: FastifyRequest, maxBytes: number): Promise<UploadBody> {
  const parts = req.parts({
    // One byte over the cap reaches the blob store, which refuses it: one place decides.
    limits: {
      fileSize: maxBytes + 1,
      files: 1,
      fields: 16,
      fieldSize: 16 * 1024,
      parts: 32,
      headerPairs: 64,
    },
  })
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') break
        return { stream: part.file, filename: part.filename }
      }
      if (part.fieldname === 'file') {
        throw errors.invalid("The part named 'file' must be a file part (with a filename)", 'file')
      }
    }
  } catch (err) {
    if (err instanceof AppError) throw err
    if (statusOf(err) === 413)
      throw new AppError('payload_too_large', 'The multipart body has too many parts')
    throw errors.invalid('The multipart body is malformed')
  }
  throw errors.invalid("The multipart body needs its file in a part named 'file'", 'file')
}

function contentLength(req: FastifyRequest): number | undefined {
  const raw = req.headers['content-length']
  return raw !== undefined && /^\d{1,20}$/.test(raw) ? Number(raw) : undefined
}

/** Errors of the multipart plugin (its parts, files and fields limits) carry their HTTP status. */
const statusOf = (err: unknown) => (err as { statusCode?: unknown } | null)?.statusCode
