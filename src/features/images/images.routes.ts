import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import type { Ctx } from '../../http/context.js'
import type { CursorCodec } from '../../http/pagination.js'
import { pageInfo, parseListQuery } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import { ctxOf } from '../auth/admission.js'
import {
  ByFileParams,
  DeleteResult,
  Image,
  ImageIdParams,
  ImagePage,
  ImagesListQuery,
  ProvisionBody,
} from './images.schemas.js'
import type { ImagesService } from './images.service.js'

/**
 * Images answer as JSON text (see image-json.ts): a string sent with a JSON
 * content type bypasses the response serializer, while the route schemas
 * still document the shape.
 */
const sendJson = (reply: FastifyReply, json: string) =>
  reply.type('application/json; charset=utf-8').send(json)

export interface ImagesRouteDeps {
  images: ImagesService
  cursors: CursorCodec
  /**
   * POST /api/images: provisions a file (again) and answers the file. The
   * files feature does it (FilesService.provision); images never import files.
   */
  provision: (ctx: Ctx, fileId: string) => Promise<unknown>
}

export function imagesRoutes(app: App, deps: ImagesRouteDeps) {
  const { images, cursors } = deps
  app.addSchema(Image)

  app.get(
    '/api/images',
    {
      schema: {
        tags: ['images'],
        operationId: 'listImages',
        summary: 'List images',
        description:
          'List images in a workspace. Images are filtered rows from the unified file model — each row is a file with an `image/*` mime that has been provisioned into the image provider. Newest first.',
        querystring: ImagesListQuery,
        response: { 200: ImagePage, ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const { workspace_id, ...query } = req.query
      const page = await images.list(
        ctxOf(req),
        parseListQuery('images', 'img', query, cursors),
        workspace_id,
      )
      const info = JSON.stringify(pageInfo('images', page, cursors))
      return sendJson(reply, `{"data":[${page.rows.join(',')}],"pageInfo":${info}}`)
    },
  )

  app.get(
    '/api/images/:id',
    {
      schema: {
        tags: ['images'],
        operationId: 'getImage',
        summary: 'Get image',
        description: 'An image the caller can see; any other id is 404.',
        params: ImageIdParams("The image's prefixed ID (e.g. `img_...`)."),
        response: { 200: Type.Ref('Image'), ...errorResponses(401, 404) },
      },
    },
    async (req, reply) => sendJson(reply, await images.get(ctxOf(req), req.params.id)),
  )

  app.get(
    '/api/images/by-file/:file_id',
    {
      schema: {
        tags: ['images'],
        operationId: 'getImageByFile',
        summary: 'Get image by file id',
        description:
          'Resolve the image (if any) bound to a given file. Used by file-detail UIs that know the file id but not the image id.',
        params: ByFileParams,
        response: { 200: Type.Ref('Image'), ...errorResponses(401, 404) },
      },
    },
    async (req, reply) => sendJson(reply, await images.byFile(ctxOf(req), req.params.file_id)),
  )

  app.delete(
    '/api/images/:id',
    {
      schema: {
        tags: ['images'],
        operationId: 'deleteImage',
        summary: 'Delete image',
        description:
          "Delete the image projection (the underlying file is unaffected). Removes the provider's copy with its variants; editor or higher.",
        params: ImageIdParams('Image to delete.'),
        response: { 200: DeleteResult, ...errorResponses(401, 403, 404) },
      },
    },
    (req) => images.delete(ctxOf(req), req.params.id),
  )

  app.post(
    '/api/images',
    {
      schema: {
        tags: ['images'],
        operationId: 'provisionImage',
        summary: 'Provision a file (again)',
        description:
          'Provisions the image of a file that has none, e.g. after a delete or a failure; editor or higher. Answers 202 with the file, its `image.status` `pending`; a new image gets a new `id` and `cfImageId`.',
        body: ProvisionBody,
        response: { 202: Type.Ref('File'), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => reply.code(202).send(await deps.provision(ctxOf(req), req.body.fileId)),
  )
}
