import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ImageView, imageJson, imagePageJson } from '../../src/features/images/images.schemas.js'

/** The hand-written JSON must be exactly what JSON.stringify makes of the same image, whatever the strings hold. */

const view = (over: Partial<ImageView> = {}): ImageView => ({
  id: 'img_01hkmtgmx0e07an8fpjf52ekny',
  fileId: 'fil_01hkmtgjyge02bqt0seqb6n6kz',
  workspaceId: 'ws_01hk153q4ge0291frhtcgvyeqx',
  cfImageId: 'eb88de18d81cbae935475b2d54619ad1',
  width: 6240,
  height: 4160,
  size: 3410081,
  exifJson: '{"Make":"Canon","Note":"say \\"hi\\"\\n"}',
  url: 'https://img.example.com:8443/cdn/eb88de18d81cbae935475b2d54619ad1/public',
  createdAt: '2024-01-08T15:19:32.000Z',
  ...over,
})

const expected = (v: ImageView) => {
  const { exifJson, ...rest } = v
  const { url, createdAt, ...head } = rest
  return JSON.stringify({ ...head, exif: JSON.parse(exifJson), url, createdAt })
}

test('imageJson equals JSON.stringify for plain and hostile strings', () => {
  const hostile = ['a"b', 'back\\slash', 'line\nbreak', '\u2028', 'é', '<script>', '', 'tab\there', '\u0000']
  assert.equal(imageJson(view()), expected(view()))
  for (const h of hostile) {
    for (const field of ['id', 'fileId', 'workspaceId', 'cfImageId', 'url', 'createdAt'] as const) {
      const v = view({ [field]: h })
      assert.equal(imageJson(v), expected(v), `${field} = ${JSON.stringify(h)}`)
      assert.deepEqual(JSON.parse(imageJson(v))[field], h)
    }
  }
})

test('imagePageJson is a page of imageJson with its pageInfo', () => {
  const pageInfo = { total: 2, hasNextPage: false, hasPreviousPage: false, startCursor: 'a', endCursor: 'b' }
  const json = imagePageJson({ data: [view(), view({ id: 'img_x"' })], pageInfo })
  assert.deepEqual(JSON.parse(json).pageInfo, pageInfo)
  assert.equal(JSON.parse(json).data[1].id, 'img_x"')
})
