import multipart from '@fastify/multipart'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import type { CursorCodec } from '../../http/pagination.js'
import { listed } from '../../http/pagination.js'
import { errorResponses, IdParam, Page, Success } from '../../http/schemas.js'
import { validatorCompiler } from '../../http/validation.js'
import { ctxOf } from '../auth/admission.js'
import { PROVISIONABLE_MIMES } from '../images/provisioning.js'
import { etagOf, noneMatch, parseRange } from './conditional.js'
import { contentDisposition } from './file-name.js'
import { FileObject, FilesListQuery, UploadBodyDoc, UploadQuery } from './files.schemas.js'
import type { FilesService } from './files.service.js'
import { openUploadBody } from './upload-body.js'
import { lingerThenClose } from './upload-stream.js'

export interface FilesRouteDeps {
  files: FilesService
  cursors: CursorCodec
  maxUploadBytes: number
}

const fileParam = IdParam('The file id (fil_…)')
/** How long the rest of a refused upload is read and dropped before the connection is cut. */
const LINGER_MS = 3000

/**
 * Documents a download; streams skip the serializer, so this only feeds the
 * OpenAPI document. The bytes go out under the file's own type, whatever it is.
 */
const Bytes = (description: string, head: boolean, headers: Record<string, object>) => ({
  description,
  headers,
  ...(head ? { type: 'null' } : { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }),
})

const DOWNLOAD_HEADERS = {
  'Content-Type': { type: 'string', description: "The file's sniffed type (`mime`)." },
  'Content-Length': { type: 'integer' },
  ETag: { type: 'string', description: 'The quoted SHA-256 of the bytes.' },
  'Content-Disposition': {
    type: 'string',
    description: '`inline` for raster images, else `attachment`; the name as RFC 6266 `filename*`.',
  },
}

/** GET and HEAD of a file's content: one schema each, so each has its own operationId. */
const contentSchema = (method: 'GET' | 'HEAD') => ({
  tags: ['files'],
  operationId: method === 'GET' ? 'downloadFile' : 'headFile',
  summary: method === 'GET' ? 'Download the original bytes' : 'The headers of a download, without its bytes',
  description:
    "Under the file's own `Content-Type`, with `ETag` (the SHA-256) and `If-None-Match`, single `Range` " +
    'requests (206, 416), `X-Content-Type-Options: nosniff`, and `Content-Disposition: attachment` except for raster images.',
  params: fileParam,
  response: {
    200: Bytes('The original bytes', method === 'HEAD', DOWNLOAD_HEADERS),
    206: Bytes('The requested range of the bytes', method === 'HEAD', {
      ...DOWNLOAD_HEADERS,
      'Content-Range': { type: 'string', description: '`bytes <start>-<end>/<size>`' },
    }),
    304: { description: 'Not modified: the ETag in If-None-Match is current', type: 'null' },
    ...errorResponses(401, 404, 416),
  },
})

export function filesRoutes(app: App, deps: FilesRouteDeps) {
  const { files, cursors } = deps
  app.addSchema(FileObject)
  app.register(uploadRoute(deps))

  app.get(
    '/api/files',
    {
      schema: {
        tags: ['files'],
        operationId: 'listFiles',
        summary: 'List files, newest first',
        description:
          'Every file of one workspace, or of every workspace the caller is a member of (admins: all), newest first. `mime` filters by type prefix; `sha256` finds files by content (exact digest, index-backed), so a client can skip an upload whose bytes are already there: uploads themselves never de-duplicate.',
        querystring: FilesListQuery,
        response: { 200: Page(Type.Ref('File')), ...errorResponses(400, 401, 404) },
      },
    },
    (req) => {
      const { workspace_id, mime, sha256, ...query } = req.query
      return listed('files', 'fil', query, cursors, (page) =>
        files.list(ctxOf(req), page, { workspaceId: workspace_id, mime, sha256 }),
      )
    },
  )

  app.get(
    '/api/files/:id',
    {
      schema: {
        tags: ['files'],
        operationId: 'getFile',
        summary: 'Get a file',
        description:
          'The file and the state of its image (`none`, `pending`, `ready`, `failed` with `error`, `deleted`).',
        params: fileParam,
        response: { 200: Type.Ref('File'), ...errorResponses(401, 404) },
      },
    },
    (req) => files.get(ctxOf(req), req.params.id),
  )

  for (const method of ['GET', 'HEAD'] as const) {
    app.route({
      method,
      url: '/api/files/:id/content',
      exposeHeadRoute: false,
      // @fastify/swagger leaves HEAD routes out unless asked.
      config: { swagger: { exposeHeadRoute: true } },
      schema: contentSchema(method),
      handler: (req, reply) => sendContent(files, req.params.id, req, reply),
    })
  }

  app.delete(
    '/api/files/:id',
    {
      schema: {
        tags: ['files'],
        operationId: 'deleteFile',
        summary: 'Delete a file, its bytes, its image and the provider copy (editor)',
        description: 'Editors and owners. Removes the file, its bytes, its image and the provider’s copy.',
        params: fileParam,
        response: { 200: Success, ...errorResponses(401, 403, 404) },
      },
    },
    (req) => files.delete(ctxOf(req), req.params.id),
  )
}

/**
 * The upload route lives in its own encapsulated scope: there, and only
 * there, every body type is taken as a stream (multipart through the
 * multipart plugin, anything else passed through untouched), so JSON routes
 * keep their JSON parser and Fastify's bodyLimit does not cap uploads.
 */
function uploadRoute(deps: FilesRouteDeps) {
  const validate = validatorCompiler()
  return async (scope: App) => {
    scope.removeAllContentTypeParsers()
    await scope.register(multipart)
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload))
    scope.addHook('onResponse', async (req) => {
      if (req.raw.complete === false) lingerThenClose(req.raw, LINGER_MS)
    })

    scope.post(
      '/api/files',
      {
        schema: {
          tags: ['files'],
          operationId: 'uploadFile',
          summary: 'Upload a file',
          description:
            'The body is multipart/form-data with one part named `file` (its filename is the default name), ' +
            'or the raw bytes with any other content type. The type is sniffed from the content. ' +
            'Raster images are queued for provisioning (`image.status` `pending`).',
          querystring: UploadQuery,
          body: UploadBodyDoc,
          response: {
            201: {
              $ref: 'File',
              description: 'The stored file; a raster image is queued (`image.status` `pending`)',
              headers: { Location: { type: 'string', description: '`/api/files/{id}`' } },
            },
            ...errorResponses(400, 401, 403, 404, 413, 415),
          },
        },
        // The body is a stream the handler reads: its schema documents it and validates nothing.
        validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : validate(route)),
      },
      async (req, reply) => {
        const file = await deps.files.upload(
          ctxOf(req),
          { workspaceId: req.query.workspace_id, name: req.query.name },
          () => openUploadBody(req, deps.maxUploadBytes),
        )
        return reply.code(201).header('location', `/api/files/${file.id}`).send(file)
      },
    )
  }
}

async function sendContent(files: FilesService, id: string, req: FastifyRequest, reply: FastifyReply) {
  const file = await files.forDownload(ctxOf(req), id)
  const size = Number(file.size)
  const etag = etagOf(file.sha256)
  reply.header('etag', etag).header('cache-control', 'private, no-cache').header('accept-ranges', 'bytes')
  if (noneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send()

  const ifRange = req.headers['if-range']
  const range = parseRange(req.headers.range, size, typeof ifRange === 'string' ? ifRange : undefined, etag)
  if (range.kind === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .type('application/json; charset=utf-8')
      .send({
        error: {
          code: 'invalid_request',
          message: `The range is outside the file's ${size} bytes`,
          details: { size },
        },
      })
  }
  const inline = PROVISIONABLE_MIMES.has(file.mime)
  reply
    .header('content-type', file.mime)
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', contentDisposition(inline ? 'inline' : 'attachment', file.name))
    // Should a browser render it anyway, uploaded HTML or SVG runs no script and loads nothing.
    .header('content-security-policy', "default-src 'none'; sandbox")
  const partial = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined
  if (partial) {
    reply.code(206).header('content-range', `bytes ${partial.start}-${partial.end}/${size}`)
  }
  reply.header('content-length', String(partial ? partial.end - partial.start + 1 : size))
  if (req.method === 'HEAD') return reply.send()
  return reply.send(await files.content(file, partial))
}
