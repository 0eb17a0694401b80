import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deliveryUrl } from '../../src/platform/image-provider/image-provider.js'
import { LocalImageProvider } from '../../src/platform/image-provider/local-image-provider.js'

const provider = new LocalImageProvider({
  publicUrl: 'https://img.example.com',
  idSecret: Buffer.alloc(32),
  variants: { hold: async () => {}, drop: async () => {} },
})

test('delivery URLs escape what the path needs escaped, and only that', () => {
  const id = provider.idFor('img_01hkmtgmx0e07an8fpjf52ekny')
  assert.match(id, /^[0-9a-f]{32}$/)
  assert.equal(deliveryUrl(provider, id), `https://img.example.com/cdn/${id}/public`)
  assert.equal(deliveryUrl(provider, id, 'public'), deliveryUrl(provider, id))
  // Flexible variants keep '=' and ',' as Cloudflare writes them; anything else reserved is escaped.
  assert.equal(
    deliveryUrl(provider, id, 'w=640,fit=cover'),
    `https://img.example.com/cdn/${id}/w=640,fit=cover`,
  )
  assert.equal(deliveryUrl(provider, id, 'a b/c'), `https://img.example.com/cdn/${id}/a%20b%2Fc`)
  // An id read back from the database is escaped like any path segment, whatever it holds.
  for (const hostile of ['a/b', 'a?b', 'a#b', 'é', 'a%2Fb', "it's(ok)*!~"])
    assert.equal(
      deliveryUrl(provider, hostile),
      `https://img.example.com/cdn/${encodeURIComponent(hostile)}/public`,
    )
})
