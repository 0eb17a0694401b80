import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui'
import type { FastifySchema } from 'fastify'

/**
 * What /api/openapi.json says beyond the route schemas: the document's head
 * (servers, tags), and the answers every route shares, added here once rather
 * than on each route (429 on every authenticated route, 415 where a body is
 * parsed, 503, 507 on writes, a description on every response). Typed
 * clients are generated from this document (client/), so it must be exact.
 */

const TAGS = [
  { name: 'users', description: 'The calling user and, for admins, every user.' },
  { name: 'tokens', description: 'Bearer tokens: minted, listed (no secrets), revoked.' },
  { name: 'workspaces', description: 'Workspaces and their members with roles viewer, editor, owner.' },
  {
    name: 'files',
    description: 'Uploads, by content: every raster image among them is provisioned into an image.',
  },
  { name: 'images', description: 'The provisioned images: dimensions, EXIF, delivery URL.' },
  { name: 'delivery', description: 'Variants of images, served by the built-in `local` provider.' },
  { name: 'operations', description: 'Health checks for load balancers and supervisors.' },
]

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before trying again.' },
}

/** The error answers every route may give, by status: what they mean and the codes they carry. */
const ERRORS: Record<number, { description: string; headers?: Record<string, object> }> = {
  400: {
    description:
      'A parameter or body field is malformed or out of range (`invalid_request`, the field in `details.field`), ' +
      'or a cursor this server did not issue for this list (`invalid_cursor`).',
  },
  401: {
    description: 'No valid bearer token (`unauthorized`).',
    headers: { 'WWW-Authenticate': { type: 'string', const: 'Bearer' } },
  },
  403: { description: 'The caller sees the resource but its role does not allow this (`forbidden`).' },
  404: { description: 'Absent, or not visible to the caller (`not_found`).' },
  409: { description: 'A uniqueness or state conflict (`conflict`).' },
  413: { description: 'The upload exceeds the configured limit (`payload_too_large`); nothing is kept.' },
  415: { description: 'A body type or encoding this operation does not take (`unsupported_media_type`).' },
  416: {
    description: 'The range lies outside the file (`invalid_request`, its size in `details.size`).',
    headers: { 'Content-Range': { type: 'string', description: '`bytes */<size>`' } },
  },
  429: {
    description: 'Too many requests for this token in this minute (`rate_limited`).',
    headers: RETRY_AFTER,
  },
  503: {
    description: 'The database or another dependency is unreachable or too slow (`unavailable`).',
    headers: RETRY_AFTER,
  },
  507: { description: 'The disk or the object store is full (`insufficient_storage`).' },
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

type Responses = Record<string, Record<string, unknown>>

/** The route's documented responses, with the shared ones added and every response described. */
export function documentedResponses(
  schema: FastifySchema & { response?: Responses; security?: unknown[] },
  url: string,
  method: string,
): Responses {
  const own = schema.response ?? {}
  const statuses = new Set(Object.keys(own).map(Number))
  const api = url.startsWith('/api/')
  if (api && schema.security?.length !== 0) statuses.add(401).add(429)
  if (api || url.startsWith('/cdn/')) statuses.add(503)
  // Any body but the upload's is parsed as JSON, and another type is refused before the route runs.
  if (api && WRITES.has(method)) statuses.add(415).add(507)
  const out: Responses = {}
  for (const status of [...statuses].sort()) {
    const given = own[status]
    const error = ERRORS[status]
    if (error && (given === undefined || given.$ref === 'ErrorBody')) {
      // A `$ref` answer takes its description from `description` (@fastify/swagger).
      out[status] = {
        $ref: 'ErrorBody',
        description: error.description,
        ...(error.headers ? { headers: error.headers } : {}),
      }
    } else if (given) {
      out[status] = described(status, given)
    }
  }
  return out
}

/** A success answer's description: its own, else one read off its shape. */
function described(status: number, s: Record<string, unknown>): Record<string, unknown> {
  if (typeof s.description === 'string') return s
  const properties = s.properties as Record<string, { items?: { $ref?: string } }> | undefined
  let description = status === 201 ? 'Created' : status === 202 ? 'Accepted' : 'OK'
  if (typeof s.$ref === 'string') description = `${status === 201 ? 'The new' : 'The'} ${noun(s.$ref)}`
  else if (properties?.data?.items?.$ref)
    description = `A page of ${noun(properties.data.items.$ref)}s, newest first, with \`pageInfo\``
  else if (properties?.success) description = 'Done: `{"success": true}`'
  return { ...s, description }
}

const noun = (ref: string) => ref.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()

/** The @fastify/swagger options: the document's head, and every route's schema completed by documentedResponses. */
export function swaggerOptions(publicUrl: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pictura',
        version: '0.1.0',
        description:
          'Self-hostable images service. Every `/api` operation but this document takes ' +
          '`Authorization: Bearer <token>`; errors answer `{"error": {"code", "message", "details"?}}`, ' +
          'those of the HTTP layer before any operation runs too (`invalid_request` with 400 for malformed HTTP, ' +
          '408 for headers that do not arrive in time, 414 for a URL and 431 for headers over the limit; ' +
          '`unavailable` with 503 while the server shuts down); ' +
          'lists page with opaque cursors (`after`, `before`) and carry their `total`.',
      },
      servers: [{ url: publicUrl.replace(/\/+$/, ''), description: 'This deployment (PUBLIC_URL)' }],
      tags: TAGS,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? route.method[0]! : route.method
      if (!schema || (schema as { hide?: boolean }).hide) return { schema, url }
      const own = schema as Parameters<typeof documentedResponses>[0] & { operationId?: string }
      // @fastify/swagger suffixes a HEAD route's operationId with `-head`; ours are unique already (headFile).
      const operationId = own.operationId?.replace(/-head$/, '')
      return { url, schema: { ...schema, operationId, response: documentedResponses(own, url, method) } }
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  }
}

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">
<rect x="2" y="4" width="32" height="32" rx="7" fill="#3b6fd8"/>
<path d="M8 30l8-10 6 7 4-5 6 8z" fill="#fff"/><circle cx="25" cy="13" r="3.5" fill="#ffd34d"/>
<text x="44" y="28" font-family="system-ui,Segoe UI,Helvetica,Arial,sans-serif" font-size="22" font-weight="600" fill="#fff">Pictura</text>
</svg>`

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3b6fd8"/><path d="M5 26l8-10 6 7 4-5 6 8z" fill="#fff"/><circle cx="22" cy="9" r="3.5" fill="#ffd34d"/></svg>`

/** /docs: Swagger UI under Pictura's name and logo, deep links by operationId. */
export const swaggerUiOptions: FastifySwaggerUiOptions = {
  routePrefix: '/docs',
  logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/docs', target: '_self' },
  theme: {
    title: 'Pictura API',
    favicon: [
      {
        filename: 'favicon.svg',
        rel: 'icon',
        sizes: 'any',
        type: 'image/svg+xml',
        content: Buffer.from(ICON),
      },
    ],
  },
  uiConfig: { deepLinking: true, displayOperationId: true },
}
