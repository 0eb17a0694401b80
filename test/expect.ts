import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'

/** What every timestamp of the API looks like: ISO 8601 in UTC. */
export const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/

/**
 * Asserts the one error envelope: status, code, a message, the invalid field
 * when one is named, and the Bearer challenge on every 401.
 */
export function expectError(res: LightMyRequestResponse, status: number, code: string, field?: string) {
  assert.equal(res.statusCode, status, res.body)
  const body = res.json() as { error: { code: string; message: string; details?: { field?: string } } }
  assert.equal(body.error.code, code, res.body)
  assert.equal(typeof body.error.message, 'string')
  assert.ok(body.error.message.length > 0)
  if (field !== undefined) assert.equal(body.error.details?.field, field, res.body)
  if (status === 401) assert.equal(res.headers['www-authenticate'], 'Bearer')
}
