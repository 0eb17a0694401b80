import { Type } from 'typebox'
import { DateTime, Nullable } from '../../http/schemas.js'

/**
 * `local@domain`, where the domain may be a single label: the server creates
 * `admin@localhost` itself, which JSON Schema's `format: email` refuses.
 */
const Email = Type.String({
  maxLength: 254,
  pattern: '^[^\\s@]+@[^\\s@.]+(\\.[^\\s@.]+)*$',
  description: 'An address as `local@domain`; the domain may be a single label (`admin@localhost`).',
  examples: ['ana@example.com'],
})

export const User = Type.Object(
  {
    id: Type.String({ examples: ['usr_01jdx3k6v8f2m9q4r7t5w0y1z2'] }),
    email: Email,
    name: Nullable(Type.String()),
    role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
    createdAt: DateTime,
  },
  { $id: 'User' },
)

export const CreateUserBody = Type.Object(
  {
    email: Email,
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
