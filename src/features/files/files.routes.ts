import multipart from '@fastify/multipart'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import { ctxOf } from '../../http/auth.js'
import type { CursorCodec } from '../../http/cursor.js'
import { parseListQuery } from '../../http/pagination.js'
import { errorResponses, IdParam, Page, Success } from '../../http/schemas.js'
import { validatorCompiler } from '../../http/validation.js'
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

/** Documents a download; streams skip the serializer, so this only feeds the OpenAPI document. */
const Bytes = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
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
        summary: 'List files, newest first',
        querystring: FilesListQuery,
        response: { 200: Page(Type.Ref('File')), ...errorResponses(400, 401, 404) },
      },
    },
    (req) => {
      const { workspace_id, mime, sha256, ...list } = req.query
      return files.list(ctxOf(req), parseListQuery('files', 'fil', list, cursors), {
        workspaceId: workspace_id,
        mime,
        sha256,
      })
    },
  )

  app.get(
    '/api/files/:id',
    {
      schema: {
        tags: ['files'],
        summary: 'Get a file',
        params: fileParam,
        response: { 200: Type.Ref('File'), ...errorResponses(401, 404) },
      },
    },
    (req) => files.get(ctxOf(req), req.params.id),
  )

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/files/:id/content',
    exposeHeadRoute: false,
    schema: {
      tags: ['files'],
      summary: 'Download the original bytes',
      description:
        'With `ETag` (the SHA-256) and `If-None-Match`, single `Range` requests (206, 416), ' +
        '`X-Content-Type-Options: nosniff`, and `Content-Disposition: attachment` except for raster images.',
      params: fileParam,
      response: {
        200: Bytes('The original bytes'),
        206: Bytes('The requested range of the bytes'),
        304: { description: 'Not modified: the ETag in If-None-Match is current', type: 'null' },
        ...errorResponses(401, 404, 416),
      },
    },
    handler: (req, reply) => sendContent(files, req.params.id, req, reply),
  })

  app.delete(
    '/api/files/:id',
    {
      schema: {
        tags: ['files'],
        summary: 'Delete a file, its bytes, its image and the provider copy (editor)',
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
          summary: 'Upload a file',
          description:
            'The body is multipart/form-data with one part named `file` (its filename is the default name), ' +
            'or the raw bytes with any other content type. The type is sniffed from the content. ' +
            'Raster images are queued for provisioning (`image.status` `pending`).',
          querystring: UploadQuery,
          body: UploadBodyDoc,
          response: { 201: Type.Ref('File'), ...errorResponses(400, 401, 403, 404, 413, 415) },
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
