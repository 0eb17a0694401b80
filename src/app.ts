import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { Type } from 'typebox'
import type { Container } from './container.js'
import { admitRequests } from './features/auth/admission.js'
import { authRoutes } from './features/auth/auth.routes.js'
import { deliveryRoutes } from './features/delivery/delivery.routes.js'
import { filesRoutes } from './features/files/files.routes.js'
import { imagesRoutes } from './features/images/images.routes.js'
import { workspacesRoutes } from './features/workspaces/workspaces.routes.js'
import type { App } from './http/app-types.js'
import { clientErrorHandler, frameworkErrors, shutdownGate } from './http/client-errors.js'
import { errorHandler, sendError } from './http/error-handler.js'
import { swaggerOptions, swaggerUiOptions } from './http/openapi.js'
import { ErrorBody, PageInfo } from './http/schemas.js'
import { validatorCompiler } from './http/validation.js'
import { webAppRoutes } from './http/web-app.js'
import { AppError } from './shared/errors.js'

/** Builds the HTTP app on a container; never listens, so tests drive it with inject(). */
export async function buildApp(c: Container): Promise<App> {
  const requestLogging = c.config.logLevel === 'debug' || c.config.logLevel === 'trace'
  const app = Fastify({
    // Fastify logs through ours only for request lines (debug): its logger costs listeners on every answer,
    // about a tenth of a single read. Errors are logged by the error handler, with the request id, either way.
    ...(requestLogging ? { loggerInstance: c.log as FastifyBaseLogger } : {}),
    genReqId: requestIds(),
    trustProxy: false,
    // What Node and Fastify answer before any route runs, in the envelope too (client-errors.ts).
    clientErrorHandler: clientErrorHandler(c.log),
    frameworkErrors,
    return503OnClosing: false,
    // Node checks every 30 s by default: a short timeout is enforced within a fraction of itself.
    http: {
      headersTimeout: c.config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, c.config.headersTimeoutMs / 4)),
    },
  }).withTypeProvider<TypeBoxTypeProvider>()
  const gate = shutdownGate(app)

  app.setValidatorCompiler(validatorCompiler())
  // JSON is the only body the API parses by default: text/plain must answer 415, not reach a JSON schema as a string.
  app.removeContentTypeParser('text/plain')
  // An empty JSON body is no body: a DELETE sent with Content-Type: application/json must not fail on it,
  // and a POST without one still answers 400 from its schema.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    body === '' ? done(null, undefined) : parseJson(req, String(body), done),
  )
  app.setErrorHandler(errorHandler(c.log))
  app.setNotFoundHandler((_req, reply) => sendError(reply, new AppError('not_found', 'Route not found')))
  app.addSchema(ErrorBody)
  app.addSchema(PageInfo)

  // Only when some origin is allowed: without it no answer needs CORS headers, or the work to decide them.
  if (c.config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: c.config.corsOrigins.includes('*') ? true : [...c.config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Range', 'If-None-Match', 'If-Range', 'X-Request-Id'],
      exposedHeaders: [
        'ETag',
        'Retry-After',
        'X-Request-Id',
        'Content-Disposition',
        'Content-Range',
        'Accept-Ranges',
        'Location',
      ],
      maxAge: 600,
    })
  }
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    if (gate.closing) return gate.refuse(reply)
    done()
  })
  // After CORS, so 401 and 429 answers carry its headers and a browser can read them (and Retry-After).
  admitRequests(app, c)

  await app.register(swagger, swaggerOptions(c.config.publicUrl))
  await app.register(swaggerUi, swaggerUiOptions)

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'The process is up',
        description: 'Answers while the process is up, without touching the database. No token.',
        security: [],
        response: { 200: { ...Status, description: 'Up: `{"status": "ok"}`' } },
      },
    },
    async () => ({ status: 'ok' }),
  )
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'The database answers',
        description:
          'Answers `ready` when the database answers a query, else 503 within `DB_STATEMENT_TIMEOUT_MS` (5 s by default), a hung database too. No token.',
        security: [],
        response: {
          200: { ...Status, description: 'Ready: `{"status": "ready"}`' },
          503: { ...Status, description: 'The database does not answer: `{"status": "unavailable"}`' },
        },
      },
    },
    async (_req, reply) => {
      try {
        await c.database.ping()
        return { status: 'ready' }
      } catch {
        return reply.code(503).send({ status: 'unavailable' })
      }
    },
  )
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  authRoutes(app, c)
  workspacesRoutes(app, c)
  filesRoutes(app, { files: c.files, cursors: c.cursors, maxUploadBytes: c.config.maxUploadBytes })
  imagesRoutes(app, { ...c, provision: (ctx, fileId) => c.files.provision(ctx, fileId) })
  // Served whatever the provider: images provisioned while it was `local` keep their URLs.
  deliveryRoutes(app, { delivery: c.delivery })
  webAppRoutes(app, c.config)
  return app
}

const Status = Type.Object({ status: Type.String() })

/** What a caller's X-Request-Id may be to be echoed back and logged as it is. */
const SAFE = /^[\w.:-]{1,128}$/

/**
 * Request ids: the caller's X-Request-Id when it is safe to echo, else this
 * process's random prefix (80 bits, fixed at start) and a counter, unique
 * across processes and restarts. A counter costs nothing; a UUID per request
 * cost as much as the cached auth check.
 */
function requestIds(): (req: IncomingMessage) => string {
  const prefix = randomBytes(10).toString('hex')
  let next = 0
  return (req) => {
    const given = req.headers['x-request-id']
    return typeof given === 'string' && SAFE.test(given) ? given : `${prefix}-${(next++).toString(36)}`
  }
}
