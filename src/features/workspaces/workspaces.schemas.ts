import { Type } from 'typebox'
import { DateTime, Nullable } from '../../http/schemas.js'

export const Role = Type.Union([Type.Literal('viewer'), Type.Literal('editor'), Type.Literal('owner')])

export const Workspace = Type.Object(
  {
    id: Type.String({ examples: ['ws_01jdx3k6v8f2m9q4r7t5w0y1z2'] }),
    name: Type.String(),
    createdAt: DateTime,
    role: Nullable(Role),
  },
  { $id: 'Workspace' },
)

export const WorkspaceBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }) },
  { additionalProperties: false },
)

export const Member = Type.Object(
  {
    userId: Type.String(),
    email: Type.Union([Type.String(), Type.Null()], {
      description:
        "The member's email, shown only to admins and to the member themself; `null` to everyone else.",
    }),
    name: Nullable(Type.String()),
    role: Role,
    createdAt: DateTime,
  },
  { $id: 'Member' },
)

export const MemberBody = Type.Object({ role: Role }, { additionalProperties: false })

export const MemberParams = Type.Object(
  { id: Type.String(), user_id: Type.String() },
  { additionalProperties: false },
)
