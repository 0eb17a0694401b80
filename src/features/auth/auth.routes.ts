import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import { ctxOf } from '../../http/auth.js'
import type { CursorCodec } from '../../http/pagination.js'
import { listed } from '../../http/pagination.js'
import { errorResponses, IdParam, ListQuery, Page, Success } from '../../http/schemas.js'
import type { TokensService } from './tokens.service.js'
import { CreatedToken, CreateTokenBody, CreateUserBody, Token, User } from './users.schemas.js'
import type { UsersService } from './users.service.js'

export function authRoutes(
  app: App,
  deps: { users: UsersService; tokens: TokensService; cursors: CursorCodec },
) {
  const { users, tokens, cursors } = deps
  app.addSchema(User)
  app.addSchema(Token)

  app.get(
    '/api/me',
    {
      schema: {
        tags: ['users'],
        summary: 'The calling user',
        response: { 200: Type.Ref('User'), ...errorResponses(401) },
      },
    },
    (req) => users.me(ctxOf(req)),
  )

  app.post(
    '/api/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user (admin)',
        body: CreateUserBody,
        response: { 201: Type.Ref('User'), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await users.create(ctxOf(req), req.body)),
  )

  app.get(
    '/api/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users (admin)',
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('User')), ...errorResponses(400, 401, 403) },
      },
    },
    (req) => listed('users', 'usr', req.query, cursors, (page) => users.list(ctxOf(req), page)),
  )

  app.get(
    '/api/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Get a user (admin)',
        params: IdParam('The user id (usr_…)'),
        response: { 200: Type.Ref('User'), ...errorResponses(401, 403, 404) },
      },
    },
    (req) => users.get(ctxOf(req), req.params.id),
  )

  app.delete(
    '/api/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Delete a user, their tokens and memberships (admin)',
        params: IdParam('The user id (usr_…)'),
        response: { 200: Success, ...errorResponses(401, 403, 404, 409) },
      },
    },
    (req) => users.delete(ctxOf(req), req.params.id),
  )

  app.post(
    '/api/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Mint a token; the secret is shown only in this answer',
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req, reply) => reply.code(201).send(await tokens.create(ctxOf(req), req.body)),
  )

  app.get(
    '/api/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'List the caller’s tokens (no secrets)',
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('Token')), ...errorResponses(400, 401) },
      },
    },
    (req) => listed('tokens', 'tok', req.query, cursors, (page) => tokens.list(ctxOf(req), page)),
  )

  app.delete(
    '/api/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token; it stops working at once',
        params: IdParam('The token id (tok_…)'),
        response: { 200: Success, ...errorResponses(401, 404) },
      },
    },
    (req) => tokens.revoke(ctxOf(req), req.params.id),
  )
}
