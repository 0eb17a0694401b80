import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Bodies are validated strictly (no coercion, unknown fields refused, nothing
 * silently removed); query strings and path parameters coerce "10" to 10.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const make = (coerceTypes: boolean) => {
    const ajv = new Ajv.default({
      coerceTypes,
      useDefaults: true,
      removeAdditional: false,
      allErrors: false,
      strict: false,
    })
    addFormats.default(ajv)
    return ajv
  }
  const strict = make(false)
  const coercing = make(true)
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    return ajv.compile(schema as object)
  }
}
