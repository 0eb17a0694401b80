import { Type } from 'typebox'
import type { App } from '../../http/app-types.js'
import type { CursorCodec } from '../../http/pagination.js'
import { listed } from '../../http/pagination.js'
import { errorResponses, IdParam, ListQuery, Page, Success } from '../../http/schemas.js'
import { ctxOf } from '../auth/admission.js'
import { Member, MemberBody, MemberParams, Workspace, WorkspaceBody } from './workspaces.schemas.js'
import type { WorkspacesService } from './workspaces.service.js'

export function workspacesRoutes(app: App, deps: { workspaces: WorkspacesService; cursors: CursorCodec }) {
  const { workspaces, cursors } = deps
  app.addSchema(Workspace)
  app.addSchema(Member)
  const wsParam = IdParam('The workspace id (ws_…)')

  app.post(
    '/api/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'createWorkspace',
        summary: 'Create a workspace; the caller becomes its owner',
        description: 'Any user may create one and becomes its owner.',
        body: WorkspaceBody,
        response: { 201: Type.Ref('Workspace'), ...errorResponses(400, 401) },
      },
    },
    async (req, reply) => reply.code(201).send(await workspaces.create(ctxOf(req), req.body)),
  )

  app.get(
    '/api/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'listWorkspaces',
        summary: 'List visible workspaces',
        description:
          'The workspaces the caller is a member of (admins: all), newest first, each with the caller’s `role`.',
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('Workspace')), ...errorResponses(400, 401) },
      },
    },
    (req) => listed('workspaces', 'ws', req.query, cursors, (page) => workspaces.list(ctxOf(req), page)),
  )

  app.get(
    '/api/workspaces/:id',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'getWorkspace',
        summary: 'Get a workspace',
        description: 'A workspace the caller can see; any other id is 404.',
        params: wsParam,
        response: { 200: Type.Ref('Workspace'), ...errorResponses(401, 404) },
      },
    },
    (req) => workspaces.get(ctxOf(req), req.params.id),
  )

  app.patch(
    '/api/workspaces/:id',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'renameWorkspace',
        summary: 'Rename a workspace (owner)',
        description: 'Owners only.',
        params: wsParam,
        body: WorkspaceBody,
        response: { 200: Type.Ref('Workspace'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    (req) => workspaces.rename(ctxOf(req), req.params.id, req.body),
  )

  app.delete(
    '/api/workspaces/:id',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'deleteWorkspace',
        summary: 'Delete a workspace with its files and images (owner)',
        description: 'Owners only. Removes its files, their bytes, images and provider copies.',
        params: wsParam,
        response: { 200: Success, ...errorResponses(401, 403, 404) },
      },
    },
    (req) => workspaces.delete(ctxOf(req), req.params.id),
  )

  app.get(
    '/api/workspaces/:id/members',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'listMembers',
        summary: 'List the members of a workspace (newest first; ids filter by user id)',
        description: 'Newest membership first; `ids` narrows by user id.',
        params: wsParam,
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('Member')), ...errorResponses(400, 401, 404) },
      },
    },
    (req) =>
      listed('members', 'usr', req.query, cursors, (page) =>
        workspaces.members(ctxOf(req), req.params.id, page),
      ),
  )

  app.put(
    '/api/workspaces/:id/members/:user_id',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'putMember',
        summary: 'Add a member or change their role (owner)',
        description:
          'Owners only. Adds the user with this role (201) or changes the role of a member (200); demoting the last owner is 409.',
        params: MemberParams,
        body: MemberBody,
        response: {
          200: Type.Ref('Member'),
          201: Type.Ref('Member'),
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const { created, member } = await workspaces.putMember(
        ctxOf(req),
        req.params.id,
        req.params.user_id,
        req.body.role,
      )
      return reply.code(created ? 201 : 200).send(member)
    },
  )

  app.delete(
    '/api/workspaces/:id/members/:user_id',
    {
      schema: {
        tags: ['workspaces'],
        operationId: 'removeMember',
        summary: 'Remove a member (owner, or the member themself)',
        description: 'Owners, or the member themself. Removing the last owner is 409.',
        params: MemberParams,
        response: { 200: Success, ...errorResponses(401, 403, 404, 409) },
      },
    },
    (req) => workspaces.removeMember(ctxOf(req), req.params.id, req.params.user_id),
  )
}
