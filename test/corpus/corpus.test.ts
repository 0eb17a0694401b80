import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, before, test } from 'node:test'
import { type Client, createWorkerEnv, settled, upload, type WorkerEnv } from '../factories.js'
import type { TestEnv } from '../harness.js'
import { CORPUS } from './corpus.js'

/** One line of a folder's survey.jsonl (see ../shared/corpus/README.md). */
interface Survey {
  file: string
  bytes: number
  sniff: string
  format?: string
  w?: number
  h?: number
  orientation?: number
  decode: string
  metaErr?: string
}

const RASTER = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/tiff'])
const MAX_PIXELS = 100_000_000

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  )
}

let t: TestEnv
let env: WorkerEnv
let api: Client
let ws: string
before(async () => {
  env = await createWorkerEnv()
  ;({ t, api, ws } = env)
})
after(() => env.close())

test('every corpus file ends none, ready or failed as its survey implies, and the server survives', async () => {
  const surveys = new Map<string, Survey>()
  const files: { rel: string; abs: string }[] = []
  for (const folder of readdirSync(CORPUS, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const root = path.join(CORPUS, folder.name)
    for (const line of readFileSync(path.join(root, 'survey.jsonl'), 'utf8').split('\n').filter(Boolean)) {
      const s = JSON.parse(line) as Survey
      surveys.set(`${folder.name}/${s.file}`, s)
    }
    for (const abs of walk(root)) files.push({ rel: path.relative(CORPUS, abs), abs })
  }
  assert.ok(files.length > 450, `found ${files.length} files`)

  const baseRss = process.memoryUsage().rss
  let peakRss = baseRss
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 20)
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const started = Date.now()
  const uploaded = new Map<string, { rel: string; mime: string }>()
  for (const { rel, abs } of files) {
    const file = await upload(api, ws, readFileSync(abs), path.basename(rel))
    uploaded.set(file.id, { rel, mime: file.mime })
  }
  const uploadedAt = Date.now()
  const rows = await settled(t, [...uploaded.keys()], 120_000)
  const finished = Date.now()
  clearInterval(sampler)
  loop.disable()
  const ru = process.resourceUsage()
  const counts = { ready: 0, failed: 0, none: 0 }
  for (const r of rows) counts[r.image_status as keyof typeof counts]++
  console.log(
    `# corpus on ${t.c.config.db.driver}: ${files.length} files, uploads ${uploadedAt - started} ms, ` +
      `all settled ${finished - started} ms after the first upload (${finished - uploadedAt} ms after the last); ` +
      `${counts.ready} ready, ${counts.failed} failed, ${counts.none} none; worker concurrency ${t.c.config.workerConcurrency}; ` +
      `event-loop delay p99 ${Math.round(loop.percentile(99) / 1e6)} ms, max ${Math.round(loop.max / 1e6)} ms; ` +
      `RSS before ${Math.round(baseRss / 2 ** 20)} MiB, peak during ${Math.round(peakRss / 2 ** 20)} MiB, process maxRSS ${Math.round(ru.maxRSS / 1024)} MiB`,
  )

  const images = new Map(
    (await t.c.db.selectFrom('images').selectAll().where('workspace_id', '=', ws).execute()).map((i) => [
      i.file_id,
      i,
    ]),
  )
  const problems: string[] = []
  for (const row of rows) {
    const { rel, mime } = uploaded.get(row.id)!
    const s = surveys.get(rel)
    const image = images.get(row.id)
    const status = row.image_status
    const say = (what: string) => problems.push(`${rel} (${s?.sniff ?? 'no survey'} -> ${mime}): ${what}`)
    if (status === 'pending') say('still pending')
    if (status === 'failed' && !row.image_error?.trim()) say('failed without a reason')
    if (status === 'ready') {
      if (!image) say('ready without an image row')
      else {
        const swap = (s?.orientation ?? 0) >= 5
        const want = swap ? [s?.h, s?.w] : [s?.w, s?.h]
        if (image.width !== want[0] || image.height !== want[1])
          say(`ready as ${image.width}x${image.height}, survey says ${want.join('x')}`)
        if (image.size !== s?.bytes) say(`size ${image.size}, survey says ${s?.bytes}`)
        const exif = JSON.parse(image.exif) as Record<string, unknown>
        if (Buffer.byteLength(image.exif) > 16 * 1024) say('exif over 16 KiB')
        if (Object.keys(exif).some((k) => k.startsWith('GPS'))) say('GPS tags in the public exif')
      }
    } else if (image) say(`${status} but has an image row`)

    if (!s || s.format === 'svg' || mime === 'image/svg+xml') {
      if (status !== 'none') say(`expected none, got ${status}`)
    } else if (RASTER.has(s.sniff)) {
      const decodable = s.decode === 'ok' && !s.metaErr && (s.w ?? 0) * (s.h ?? 0) <= MAX_PIXELS
      if (decodable && status !== 'ready') say(`decodable, but ${status}: ${row.image_error}`)
      if (!decodable && status !== 'failed') say(`undecodable (${s.metaErr ?? s.decode}), but ${status}`)
    } else if (s.sniff.startsWith('image/')) {
      if (!['none', 'failed', 'ready'].includes(status)) say(`unexpected ${status}`)
    } else if (status !== 'none') say(`not an image, but ${status}`)
  }
  assert.deepEqual(problems, [])

  const jobs = await t.c.db.selectFrom('jobs').select(['state']).where('state', '=', 'queued').execute()
  assert.equal(jobs.length, 0, 'no job left queued')
  assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const after = await upload(
    api,
    ws,
    readFileSync(path.join(CORPUS, 'sharp-fixtures', 'Landscape_1.jpg')),
    'ok.jpg',
  )
  const [last] = await settled(t, [after.id])
  assert.equal(last!.image_status, 'ready', 'still provisioning after the corpus')
})
