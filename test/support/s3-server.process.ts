/**
 * The S3-compatible server the tests talk to, run as its own process by
 * s3-server.ts: fauxqs's S3 API (it keeps objects in memory, which must not
 * count against the test process's own memory) on loopback, plus
 * ListMultipartUploads, which fauxqs does not implement, answered from
 * fauxqs's own table of unfinished uploads. Prints its endpoint on stdout and
 * exits when its parent closes stdin, so it never outlives a test run.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type BuildAppOptions, buildApp } from 'fauxqs'

interface PendingUpload {
  uploadId: string
  bucket: string
  key: string
  initiated: Date
}
/** The part of fauxqs's S3Store (pinned version) that this file reads. */
interface S3StoreInternals {
  multipartUploads: Map<string, PendingUpload>
}

// fauxqs's package exports only its entry, so its store class is loaded beside it.
const storeUrl = new URL('./s3/s3Store.js', import.meta.resolve('fauxqs')).href
const { S3Store } = (await import(storeUrl)) as { S3Store: new () => S3StoreInternals }
const store = new S3Store()
const app = buildApp({ logger: false, stores: { s3Store: store } as unknown as BuildAppOptions['stores'] })
await app.ready()

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const bucket = url.pathname.split('/').filter(Boolean)
  if (req.method === 'GET' && bucket.length === 1 && url.searchParams.has('uploads')) {
    listMultipartUploads(bucket[0] ?? '', url.searchParams, res)
    return
  }
  app.routing(req as IncomingMessage, res as ServerResponse)
})

function listMultipartUploads(bucket: string, q: URLSearchParams, res: ServerResponse): void {
  const prefix = q.get('prefix') ?? ''
  const max = Number(q.get('max-uploads') ?? 1000)
  const keyMarker = q.get('key-marker') ?? ''
  const idMarker = q.get('upload-id-marker') ?? ''
  const after = (u: PendingUpload) =>
    u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker)
  const all = [...store.multipartUploads.values()]
    .filter((u) => u.bucket === bucket && u.key.startsWith(prefix) && (keyMarker === '' || after(u)))
    .sort((a, b) => (a.key === b.key ? cmp(a.uploadId, b.uploadId) : cmp(a.key, b.key)))
  const page = all.slice(0, max)
  const last = page.at(-1)
  const truncated = all.length > page.length && last !== undefined
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    `<Bucket>${esc(bucket)}</Bucket><Prefix>${esc(prefix)}</Prefix>`,
    `<KeyMarker>${esc(keyMarker)}</KeyMarker><UploadIdMarker>${esc(idMarker)}</UploadIdMarker>`,
    truncated ? `<NextKeyMarker>${esc(last.key)}</NextKeyMarker>` : '',
    truncated ? `<NextUploadIdMarker>${esc(last.uploadId)}</NextUploadIdMarker>` : '',
    `<MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>`,
    ...page.map(
      (u) =>
        `<Upload><Key>${esc(u.key)}</Key><UploadId>${esc(u.uploadId)}</UploadId>` +
        `<Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
    ),
    '</ListMultipartUploadsResult>',
  ].join('')
  res.writeHead(200, { 'content-type': 'application/xml' }).end(xml)
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  process.stdout.write(`http://127.0.0.1:${address.port}\n`)
})
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
