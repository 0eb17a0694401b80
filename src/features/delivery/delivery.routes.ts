import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import { errorResponses } from '../../http/schemas.js'
import type { DeliveryService } from './delivery.service.js'

export interface DeliveryRouteDeps {
  delivery: DeliveryService
}

const Params = Type.Object(
  {
    cfImageId: Type.String({
      description: 'The image’s provider id (`cfImageId`); the URL is the capability.',
    }),
    variant: Type.String({
      description:
        'A named variant (`public`, `thumbnail`) or flexible options as Cloudflare writes them: ' +
        '`w=640,h=480,fit=scale-down|contain|cover|crop|pad,format=auto|webp|avif|jpeg|png,quality=1-100`.',
    }),
  },
  { additionalProperties: false },
)

/** A 304 has no body: sent as such, whatever the route's typed reply expects for it. */
const notModified = (reply: FastifyReply) => reply.code(304).send()

/**
 * GET /cdn/{cfImageId}/{variant}: the local provider's delivery. No token:
 * the unguessable id is the capability, as with Cloudflare's public URLs.
 */
export function deliveryRoutes(app: App, { delivery }: DeliveryRouteDeps) {
  app.get(
    '/cdn/:cfImageId/:variant',
    {
      schema: {
        tags: ['delivery'],
        operationId: 'deliverVariant',
        summary: 'Deliver a variant of an image',
        description:
          'Orientation applied, every byte of metadata stripped, output at most 4096 px a side; ' +
          'animated images deliver their first frame. Long-lived `Cache-Control`, `ETag` and ' +
          '`If-None-Match` (304); `format=auto` follows `Accept` (AVIF, then WebP) and answers `Vary: Accept`.',
        security: [],
        params: Params,
        response: {
          200: {
            description: 'The rendered variant',
            content: Object.fromEntries(
              ['image/jpeg', 'image/png', 'image/webp', 'image/avif'].map((type) => [
                type,
                { schema: { type: 'string', format: 'binary' } },
              ]),
            ),
          },
          304: { description: 'Not modified (If-None-Match matched the ETag)', type: 'null' },
          ...errorResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const accept = req.headers.accept
      const ifNoneMatch = req.headers['if-none-match']
      const result = await delivery.deliver(req.params.cfImageId, req.params.variant, {
        ...(accept ? { accept } : {}),
        ...(ifNoneMatch ? { ifNoneMatch } : {}),
      })
      reply
        .header('ETag', result.etag)
        .header('Cache-Control', 'public, max-age=31536000, immutable')
        .header('X-Content-Type-Options', 'nosniff')
      if (result.varyAccept) {
        const vary = reply.getHeader('Vary')
        reply.header('Vary', vary ? `${String(vary)}, Accept` : 'Accept')
      }
      if (result.status === 304) return notModified(reply)
      return reply.code(200).type(result.contentType).header('Content-Length', result.size).send(result.body)
    },
  )
}
