import { type Static, type TSchema, Type } from 'typebox'
import { statusOf } from '../shared/errors.js'

/** Every code an error answer may carry: the server's own, and those of failing dependencies (API.md section 1). */
export const ERROR_CODES = [...new Set([...Object.keys(statusOf), 'unavailable', 'insufficient_storage'])]

/** Schemas shared by every route: they validate, serialise and document at once. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ enum: ERROR_CODES, examples: ['not_found'] }),
      message: Type.String({ examples: ['Image not found'] }),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  { $id: 'ErrorBody' },
)

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorBody')]))

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const DateTime = Type.String({ format: 'date-time', examples: ['2026-11-26T12:00:00.000Z'] })

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 100,
        description: 'Max items per page (1-100, default 100).',
      }),
    ),
    after: Type.Optional(
      Type.String({ description: 'Keyset cursor — return the page after this row (next page).' }),
    ),
    before: Type.Optional(
      Type.String({ description: 'Keyset cursor — return the page before this row (prev page).' }),
    ),
    ids: Type.Optional(
      Type.String({
        description:
          "Comma-separated IDs (at most 100). Narrows results to these IDs within the caller's accessible scope (does not bypass access checks).",
      }),
    ),
  },
  { additionalProperties: false },
)
export type ListQuery = Static<typeof ListQuery>

export const PageInfo = Type.Object(
  {
    total: Type.Integer({ description: 'Rows matching every filter but the cursor and `limit`.' }),
    hasNextPage: Type.Boolean({ description: 'A row exists after the last returned one.' }),
    hasPreviousPage: Type.Boolean({ description: 'A row exists before the first returned one.' }),
    startCursor: Nullable(Type.String({ description: 'Cursor of the first row; `null` on an empty page.' })),
    endCursor: Nullable(Type.String({ description: 'Cursor of the last row; `null` on an empty page.' })),
  },
  { $id: 'PageInfo' },
)
export type PageInfo = Static<typeof PageInfo>

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), pageInfo: Type.Ref('PageInfo') })

export const Success = Type.Object({ success: Type.Boolean() })

export const IdParam = (description: string) =>
  Type.Object({ id: Type.String({ description }) }, { additionalProperties: false })
