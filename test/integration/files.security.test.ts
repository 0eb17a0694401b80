import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  addMember,
  blobFiles,
  type FileBody,
  fileRows,
  newUser,
  newWorkspace,
  uploadMultipart,
  uploadRaw,
} from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { samplePng } from '../support/images.js'

let t: TestEnv
before(async () => {
  t = await createTestEnv()
})
after(() => t.close())

/** The filename a browser would save under: RFC 6266 filename* (percent-encoded UTF-8). */
function savedAs(disposition: string): string {
  const match = /filename\*=UTF-8''([^;\s]+)/.exec(disposition)
  assert.ok(match, disposition)
  return decodeURIComponent(match[1]!)
}

test('hostile file names are stored as plain names and served in a header they cannot break', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const long = `${'a'.repeat(3000)}.png`
  const cases: { given: string; stored: string | ((name: string, id: string) => void) }[] = [
    { given: '../../etc/passwd', stored: 'passwd' },
    { given: '..\\..\\windows\\win.ini', stored: 'win.ini' },
    { given: 'report.txt\r\nSet-Cookie: session=stolen', stored: 'report.txtSet-Cookie: session=stolen' },
    { given: 'say "cheese"; x=1 %41.txt', stored: 'say "cheese"; x=1 %41.txt' },
    { given: 'résumé 📷 写真.jpg', stored: 'résumé 📷 写真.jpg' },
    { given: 'invoice\u202Egpj.exe', stored: 'invoicegpj.exe' },
    { given: 'nul\u0000byte\u0007.bin', stored: 'nulbyte.bin' },
    {
      given: long,
      stored: (name) => {
        assert.equal(name.length, 255)
        assert.ok(name.endsWith('.png'), 'the extension survives the cut')
      },
    },
    { given: '..', stored: (name, id) => assert.equal(name, id) },
    { given: '/', stored: (name, id) => assert.equal(name, id) },
  ]
  for (const c of cases) {
    for (const via of ['query', 'multipart'] as const) {
      // Multipart filenames cannot carry raw CR/LF/NUL on the wire; the query string can.
      if (via === 'multipart' && /[\r\n\0"]/.test(c.given)) continue
      const res =
        via === 'query'
          ? await uploadRaw(t, u.token, ws.id, 'data', { name: c.given })
          : await uploadMultipart(t, u.token, ws.id, [{ name: 'file', filename: c.given, data: 'data' }])
      const label = `${via} ${JSON.stringify(c.given.slice(0, 40))}`
      assert.equal(res.statusCode, 201, `${label}: ${res.body}`)
      const file = res.json() as FileBody
      if (typeof c.stored === 'string') assert.equal(file.name, c.stored, label)
      else c.stored(file.name, file.id)

      const content = await u.api.get(`/api/files/${file.id}/content`)
      assert.equal(content.statusCode, 200)
      assert.equal(content.headers['set-cookie'], undefined, 'no header injection')
      const disposition = String(content.headers['content-disposition'])
      assert.match(
        disposition,
        /^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+$/,
      )
      assert.equal(savedAs(disposition), file.name)
    }
  }
  // Names never reach the storage layout: only <workspace>/<file id> exists.
  for (const key of blobFiles(t)) assert.match(key, /^ws_[0-9a-z]{26}\/fil_[0-9a-z]{26}$/)
})

test('HTML and SVG download as attachments that a browser will not sniff or run; raster images inline', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const html = (
    await uploadRaw(t, u.token, ws.id, '<html><script>alert(document.cookie)</script>', {
      contentType: 'image/png',
      name: 'innocent.png',
    })
  ).json() as FileBody
  const svg = (
    await uploadRaw(t, u.token, ws.id, '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', {
      name: 'logo.svg',
    })
  ).json() as FileBody
  const png = (await uploadRaw(t, u.token, ws.id, await samplePng('bilevel'), { name: 'p.png' })).json()

  for (const [file, mime] of [
    [html, 'text/html'],
    [svg, 'image/svg+xml'],
  ] as const) {
    assert.equal(file.mime, mime)
    assert.equal(file.image.status, 'none')
    const res = await u.api.get(`/api/files/${file.id}/content`)
    assert.equal(res.headers['content-type'], mime)
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.match(String(res.headers['content-disposition']), /^attachment;/)
    assert.match(String(res.headers['content-security-policy']), /sandbox/)
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/)
  }
  const raster = await u.api.get(`/api/files/${png.id}/content`)
  assert.match(String(raster.headers['content-disposition']), /^inline;/)
  assert.equal(raster.headers['x-content-type-options'], 'nosniff')
})

test('a PNG sent as text/plain named x.txt is an image; an image/png Content-Type does not make text one', async () => {
  const u = await newUser(t)
  const ws = await newWorkspace(u)
  const png = await samplePng('rgba')
  const asText = await uploadMultipart(t, u.token, ws.id, [
    { name: 'file', filename: 'x.txt', contentType: 'text/plain', data: png },
  ])
  assert.equal(asText.json().mime, 'image/png')
  assert.equal(asText.json().image.status, 'pending')
  const fake = await uploadMultipart(t, u.token, ws.id, [
    { name: 'file', filename: 'photo.jpg', contentType: 'image/jpeg', data: 'just some text' },
  ])
  assert.equal(fake.json().mime, 'application/octet-stream')
  assert.equal(fake.json().image.status, 'none')
})

test("a member of one workspace can neither see nor touch another workspace's files", async () => {
  const alice = await newUser(t)
  const bob = await newUser(t)
  const wsA = await newWorkspace(alice)
  const wsB = await newWorkspace(bob)
  const secret = (await uploadRaw(t, alice.token, wsA.id, 'secret')).json() as FileBody
  await uploadRaw(t, bob.token, wsB.id, 'mine')

  const bobs = (await bob.api.get('/api/files')).json() as { data: FileBody[]; pageInfo: { total: number } }
  assert.ok(bobs.data.every((f) => f.workspaceId === wsB.id))
  assert.equal(bobs.pageInfo.total, 1)
  const narrowed = (await bob.api.get(`/api/files?ids=${secret.id}`)).json()
  assert.deepEqual(narrowed.data, [])
  assert.equal(narrowed.pageInfo.total, 0)
  assert.equal((await bob.api.get(`/api/files/${secret.id}`)).statusCode, 404)
  assert.equal((await bob.api.get(`/api/files/${secret.id}/content`)).statusCode, 404)
  assert.equal((await bob.api.del(`/api/files/${secret.id}`)).statusCode, 404)
  assert.equal((await uploadRaw(t, bob.token, wsA.id, 'intrusion')).statusCode, 404)
  assert.equal((await fileRows(t, wsA.id)).length, 1)

  await addMember(t, wsA.id, bob.id, 'viewer')
  assert.equal((await bob.api.get(`/api/files/${secret.id}/content`)).body, 'secret')
  assert.equal((await bob.api.del(`/api/files/${secret.id}`)).statusCode, 403)
  assert.equal((await uploadRaw(t, bob.token, wsA.id, 'still no')).statusCode, 403)
  await addMember(t, wsA.id, bob.id, 'editor')
  assert.equal((await uploadRaw(t, bob.token, wsA.id, 'now yes')).statusCode, 201)
  assert.equal((await bob.api.del(`/api/files/${secret.id}`)).statusCode, 200)
})
