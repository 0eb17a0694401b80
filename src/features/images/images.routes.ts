import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import { confirmedRead, ctxOf } from '../../http/auth.js'
import type { CursorCodec } from '../../http/cursor.js'
import { parseListQuery } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import {
  ByFileParams,
  DeleteResult,
  Image,
  ImageIdParams,
  ImagePage,
  ImagesListQuery,
  imageJson,
  type ImageView,
  imagePageJson,
  ProvisionBody,
} from './images.schemas.js'
import type { ImagesService } from './images.service.js'
import { chain, type Maybe } from '../../shared/maybe.js'

/**
 * List and get answer pre-built JSON (see imageJson): a string with a JSON content
 * type bypasses the response serializer, while the route schemas still document the shape.
 */
const sendJson = (reply: FastifyReply, json: string) =>
  reply.type('application/json; charset=utf-8').send(json)

/**
 * Sends an image read as JSON text: at once when the read is complete (see
 * Maybe), so the handler returns nothing; else once it settles. A read that
 * fails throws or rejects, and Fastify's error handler answers either way.
 */
const sendImage = (reply: FastifyReply, image: Maybe<ImageView>): Maybe<void> =>
  chain(image, (i) => {
    sendJson(reply, imageJson(i))
  })

export function imagesRoutes(app: App, deps: { images: ImagesService; cursors: CursorCodec }) {
  const { images, cursors } = deps
  app.addSchema(Image)

  app.get(
    '/api/images',
    {
      config: { confirmsReads: true },
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
      const page = await confirmedRead(req, (ctx) =>
        images.list(ctx, parseListQuery('images', 'img', query, cursors), workspace_id),
      )
      return sendJson(reply, imagePageJson(page))
    },
  )

  app.get(
    '/api/images/:id',
    {
      config: { confirmsReads: true },
      schema: {
        tags: ['images'],
        operationId: 'getImage',
        summary: 'Get image',
        description: 'An image the caller can see; any other id is 404.',
        params: ImageIdParams("The image's prefixed ID (e.g. `img_...`)."),
        response: { 200: Type.Ref('Image'), ...errorResponses(401, 404) },
      },
    },
    (req, reply) =>
      sendImage(
        reply,
        confirmedRead(req, (ctx) => images.get(ctx, req.params.id)),
      ),
  )

  app.get(
    '/api/images/by-file/:file_id',
    {
      config: { confirmsReads: true },
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
    (req, reply) =>
      sendImage(
        reply,
        confirmedRead(req, (ctx) => images.byFile(ctx, req.params.file_id)),
      ),
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
    async (req, reply) => reply.code(202).send(await images.provision(ctxOf(req), req.body.fileId)),
  )
}
