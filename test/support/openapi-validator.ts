import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

/**
 * A response validator built on the published OpenAPI document, as a
 * validating proxy (Prism's) would check answers: the operation and its
 * status must be documented, the body must have a documented media type and,
 * when JSON, match its schema, and documented headers that are present must
 * match theirs. Everything is read from the document itself; nothing here
 * knows Pictura's routes.
 */

type Json = Record<string, unknown>
interface MediaType {
  schema?: Json
}
interface Response {
  content?: Record<string, MediaType>
  headers?: Record<string, { schema?: Json; required?: boolean }>
}
interface Operation {
  operationId?: string
  responses: Record<string, Response>
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>
  components?: Json
}

export interface Answer {
  method: string
  /** Path and query, as requested. */
  url: string
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: Buffer
}

export interface Checked {
  /** `operationId status`, or null when the operation is not in the document. */
  key: string | null
  violations: string[]
}

const METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete', 'options'])
const pointerPart = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1')

export function responseValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(structuredClone(doc) as object, 'openapi.json')
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>()
  const validatorAt = (pointer: string) => {
    let v = compiled.get(pointer)
    if (!v) {
      v = ajv.compile({ $ref: `openapi.json#${pointer}` })
      compiled.set(pointer, v)
    }
    return v
  }
  const routes = Object.entries(doc.paths).map(([template, ops]) => ({
    template,
    ops,
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`,
    ),
  }))

  return {
    /** Every operation of the document as `operationId`. */
    operations(): string[] {
      return routes.flatMap((r) =>
        Object.entries(r.ops)
          .filter(([m]) => METHODS.has(m))
          .map(([m, op]) => op.operationId ?? `${m} ${r.template}`),
      )
    },

    check(answer: Answer): Checked {
      const method = answer.method.toLowerCase()
      const path = answer.url.split('?')[0]!
      const route = routes.find((r) => r.pattern.test(path) && r.ops[method])
      const where = `${answer.method} ${answer.url} -> ${answer.status}`
      if (!route) return { key: null, violations: [`${where}: no documented operation`] }
      const op = route.ops[method]!
      const id = op.operationId ?? `${method} ${route.template}`
      const statusKey = [String(answer.status), `${String(answer.status)[0]}XX`, 'default'].find(
        (k) => op.responses[k],
      )
      if (!statusKey)
        return { key: `${id} ${answer.status}`, violations: [`${where}: status not documented`] }
      const doc = op.responses[statusKey]!
      const pointer = `/paths/${pointerPart(route.template)}/${method}/responses/${statusKey}`
      const violations: string[] = []

      const contentType = String(answer.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase()
      const media = doc.content ? mediaKey(Object.keys(doc.content), contentType) : undefined
      if (!doc.content) {
        if (answer.body.length > 0)
          violations.push(`${where}: documented without a body, answered ${answer.body.length} bytes`)
      } else if (method !== 'head' && answer.status !== 304) {
        if (media === undefined) {
          violations.push(
            `${where}: Content-Type ${contentType || '(none)'} is not one of ${Object.keys(doc.content).join(', ')}`,
          )
        } else if (/[/+]json$/.test(media) && doc.content[media]!.schema) {
          let body: unknown
          try {
            body = JSON.parse(answer.body.toString('utf8'))
          } catch {
            violations.push(`${where}: the body is not JSON`)
          }
          if (body !== undefined) {
            const validate = validatorAt(`${pointer}/content/${pointerPart(media)}/schema`)
            if (!validate(body))
              violations.push(`${where}: body ${ajv.errorsText(validate.errors)}: ${truncate(answer.body)}`)
          }
        }
      }
      for (const [name, header] of Object.entries(doc.headers ?? {})) {
        const raw = answer.headers[name.toLowerCase()]
        if (raw === undefined) {
          if (header.required) violations.push(`${where}: required header ${name} is missing`)
          continue
        }
        if (!header.schema) continue
        const type = header.schema.type
        const value = type === 'integer' || type === 'number' ? Number(raw) : String(raw)
        const validate = validatorAt(`${pointer}/headers/${pointerPart(name)}/schema`)
        if (!validate(value)) violations.push(`${where}: header ${name}: ${ajv.errorsText(validate.errors)}`)
      }
      return { key: `${id} ${answer.status}`, violations }
    },
  }
}

/** The documented media type an answer's type falls under: exact first, then `type/*`, then `*` + `/*`. */
function mediaKey(documented: string[], contentType: string): string | undefined {
  const [type] = contentType.split('/')
  return [contentType, `${type}/*`, '*/*'].find((k) => documented.includes(k))
}

const truncate = (body: Buffer) => {
  const s = body.toString('utf8')
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}

export type ResponseValidator = ReturnType<typeof responseValidator>
