import { Type } from 'typebox'
import { DateTime, Nullable } from '../../http/schemas.js'

export const User = Type.Object(
  {
    id: Type.String({ examples: ['usr_01jdx3k6v8f2m9q4r7t5w0y1z2'] }),
    email: Type.String({ format: 'email' }),
    name: Nullable(Type.String()),
    role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    createdAt: DateTime,
  },
  { $id: 'User' },
)

export const CreateUserBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member')], { default: 'member' })),
  },
  { additionalProperties: false },
)

export const Token = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    userId: Type.String(),
    createdAt: DateTime,
    expiresAt: Nullable(DateTime),
  },
  { $id: 'Token' },
)

export const CreatedToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userId: Type.String(),
  createdAt: DateTime,
  expiresAt: Nullable(DateTime),
  token: Type.String({ description: 'The secret; shown only in this answer.' }),
})

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    userId: Type.Optional(Type.String({ description: 'Admins only: mint the token for this user.' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)
