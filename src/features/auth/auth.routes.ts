import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import type { CursorCodec } from '../../http/pagination.js'
import { listed } from '../../http/pagination.js'
import { errorResponses, IdParam, ListQuery, Page, Success } from '../../http/schemas.js'
import { ctxOf } from './admission.js'
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
        operationId: 'getMe',
        summary: 'The calling user',
        description: 'The user the bearer token belongs to.',
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
        operationId: 'createUser',
        summary: 'Create a user (admin)',
        description:
          'Admins only. The email must be unique (409 otherwise); `role` defaults to `member`. Mint the user a token with `POST /api/tokens` and `userId`.',
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
        operationId: 'listUsers',
        summary: 'List users (admin)',
        description:
          'Admins only. Every user, newest first, with the list contract of every list (limit, after, before, ids, total).',
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
        operationId: 'getUser',
        summary: 'Get a user (admin)',
        description: 'Admins only.',
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
        operationId: 'deleteUser',
        summary: 'Delete a user, their tokens and memberships (admin)',
        description:
          'Admins only. Revokes the user’s tokens and memberships; the last admin cannot be deleted (409).',
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
        operationId: 'createToken',
        summary: 'Mint a token; the secret is shown only in this answer',
        description:
          'Mints a token for the caller or, for an admin, for `userId`. The secret (`token`) appears only in this answer; the server keeps only its hash. `expiresAt` must lie in the future.',
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
        operationId: 'listTokens',
        summary: 'List the caller’s tokens (no secrets)',
        description: 'The tokens whose user is the caller, whoever minted them, newest first; no secrets.',
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
        operationId: 'revokeToken',
        summary: 'Revoke a token; it stops working at once',
        description:
          'Deletes the token: the next request with it answers 401. Admins may revoke any token; someone else’s token is 404 to a member.',
        params: IdParam('The token id (tok_…)'),
        response: { 200: Success, ...errorResponses(401, 404) },
      },
    },
    (req) => tokens.revoke(ctxOf(req), req.params.id),
  )
}
