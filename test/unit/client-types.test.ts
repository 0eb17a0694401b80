import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { publishedDocument, SCHEMA_FILE, typesOf } from '../../scripts/client-types.js'

/** client/schema.d.ts is what openapi-typescript makes of the document this server publishes, to the byte. */
test('the committed client types match the OpenAPI document the server publishes', async () => {
  const generated = await typesOf(await publishedDocument())
  const committed = readFileSync(SCHEMA_FILE, 'utf8')
  assert.ok(committed === generated, 'client/schema.d.ts is stale: run `npm run client:types` and commit it')
  // Uploads take a Blob (or File), as openapi-typescript types `format: binary` here.
  assert.match(generated, /"\*\/\*": Blob;/)
  assert.match(generated, /file: Blob;/)
})
