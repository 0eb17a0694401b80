import { type Static, type TSchema, Type } from 'typebox'

/** Schemas shared by every route: they validate, serialise and document at once. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['not_found'] }),
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

export const PageInfo = Type.Object({
  total: Type.Integer(),
  hasNextPage: Type.Boolean(),
  hasPreviousPage: Type.Boolean(),
  startCursor: Nullable(Type.String()),
  endCursor: Nullable(Type.String()),
})
export type PageInfo = Static<typeof PageInfo>

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), pageInfo: PageInfo })

export const Success = Type.Object({ success: Type.Boolean() })

export const IdParam = (description: string) =>
  Type.Object({ id: Type.String({ description }) }, { additionalProperties: false })
