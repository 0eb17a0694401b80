import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import SQLite from 'better-sqlite3'
import type { Page } from 'playwright-core'
import sharp from 'sharp'
import { imageHead } from '../src/features/images/image-json.js'
import { newId } from '../src/shared/ids.js'
import { builtWebApp, launchBrowser } from '../test/support/browser.js'
import { type ExifInput, exifTiff } from '../test/support/exif-writer.js'
import { freePort } from '../test/support/free-port.js'
import { exifSegment, jpegWith } from '../test/support/image-bytes.js'
import { childEnv, startPictura } from '../test/support/pictura-process.js'

/**
 * npm run screenshots: a real server on a temporary SQLite data dir, 100 photo-like
 * JPEGs made with sharp (landscapes drawn as SVG, with camera EXIF), the app in
 * Debian's Chromium; writes docs/screenshots/*.png and prints the app's
 * JavaScript size (gzipped) and the first gallery paint of those 100 images.
 */
const ROOT = path.resolve(import.meta.dirname, '..')
const OUT = path.join(ROOT, 'docs', 'screenshots')
const PHOTOS = 100
const PAINT_RUNS = 5
/** The large workspace the scrolling figures are measured in. */
const MANY = 100_000

const CAMERAS: [string, string, string][] = [
  ['FUJIFILM', 'X-T4', 'XF23mmF1.4 R'],
  ['Canon', 'Canon EOS R6', 'RF24-105mm F4 L IS USM'],
  ['NIKON CORPORATION', 'NIKON Z 6_2', 'NIKKOR Z 50mm f/1.8 S'],
  ['SONY', 'ILCE-7M4', 'FE 35mm F1.8'],
]

/** Deterministic pseudo-random numbers, so the screenshots change only when the app does. */
function random(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0
    return (s >>> 8) / 16777216
  }
}

/** A landscape: sky gradient, sun, three mountain ridges, a lake; 3:2, 2:3 or 1:1. */
async function photo(i: number, scale = 1): Promise<Buffer> {
  const r = random(i * 7919 + 1)
  const shape = i % 5 === 3 ? [1000, 1500] : i % 7 === 5 ? [1200, 1200] : [1500, 1000]
  const [w, h] = shape.map((n) => n * scale) as [number, number]
  const hue = Math.floor(r() * 360)
  const dusk = r() > 0.6
  const sky1 = dusk ? `hsl(${(hue + 20) % 60}, 80%, 60%)` : `hsl(${200 + (hue % 30)}, 70%, 55%)`
  const sky2 = dusk ? `hsl(${280 + (hue % 40)}, 45%, 35%)` : `hsl(${190 + (hue % 20)}, 60%, 85%)`
  const ridge = (level: number, light: number) => {
    const points = [`0,${h}`]
    for (let x = 0; x <= w; x += w / 12) points.push(`${x},${h * level + (r() - 0.5) * h * 0.18}`)
    points.push(`${w},${h}`)
    return `<polygon points="${points.join(' ')}" fill="hsl(${(hue + 120) % 360}, 25%, ${light}%)"/>`
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${sky2}"/><stop offset="1" stop-color="${sky1}"/></linearGradient>
    <linearGradient id="l" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${sky1}"/><stop offset="1" stop-color="hsl(${(hue + 180) % 360},40%,20%)"/></linearGradient>
    <filter id="b"><feGaussianBlur stdDeviation="${w / 300}"/></filter></defs>
    <rect width="100%" height="100%" fill="url(#s)"/>
    <circle cx="${w * (0.2 + r() * 0.6)}" cy="${h * (0.15 + r() * 0.25)}" r="${Math.min(w, h) * 0.06}" fill="${dusk ? '#ffd08a' : '#fff8dc'}" filter="url(#b)"/>
    ${ridge(0.45, 55)}${ridge(0.55, 38)}${ridge(0.68, 22)}
    <rect y="${h * 0.8}" width="100%" height="${h * 0.2}" fill="url(#l)" opacity="0.85"/>
  </svg>`
  const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 82, mozjpeg: true }).toBuffer()
  const [make, model, lens] = CAMERAS[i % CAMERAS.length] as [string, string, string]
  const day = String(1 + (i % 28)).padStart(2, '0')
  const tags: ExifInput = {
    Make: make,
    Model: model,
    LensModel: lens,
    ExposureTime: [0.004, 0.008, 0.0125, 0.001][i % 4] as number,
    FNumber: [2.8, 4, 5.6, 8][i % 4] as number,
    ISO: [100, 200, 400, 800][i % 4] as number,
    FocalLength: [23, 35, 50, 85][i % 4] as number,
    DateTimeOriginal: `2026:06:${day} 18:${String(i % 60).padStart(2, '0')}:05`,
  }
  return jpegWith(jpeg, exifSegment(exifTiff(tags)))
}

/**
 * MANY images written straight into the server's SQLite file (the API would take
 * minutes): each a copy of one of the real photos' rows, with its own ids and
 * provider id, its bytes the photo's (so /cdn renders them), newest last.
 */
function seedMany(dbFile: string, workspaceId: string): void {
  const db = new SQLite(dbFile)
  db.pragma('busy_timeout = 10000')
  const samples = db
    .prepare(
      `select f.name, f.mime, f.size, f.sha256, f.blob_key, f.created_by, i.width, i.height, i.exif, i.thumbhash
       from files f join images i on i.file_id = f.id`,
    )
    .all() as {
    name: string
    mime: string
    size: number
    sha256: string
    blob_key: string
    created_by: string
    width: number
    height: number
    exif: string
    thumbhash: string | null
  }[]
  const file = db.prepare(
    `insert into files (id, workspace_id, name, mime, size, sha256, blob_key, created_at, created_by, image_status, image_id, image_error)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ready', ?, null)`,
  )
  const image = db.prepare(
    `insert into images (id, file_id, workspace_id, provider, cf_image_id, width, height, size, exif, exif_gps, thumbhash, created_at, json)
     values (?, ?, ?, 'local', ?, ?, ?, ?, ?, null, ?, ?, ?)`,
  )
  const start = Date.parse('2020-01-01T00:00:00Z')
  db.transaction(() => {
    for (let i = 0; i < MANY; i++) {
      const s = samples[i % samples.length] as (typeof samples)[0]
      const fileId = newId('fil')
      const imageId = newId('img')
      const cf = randomBytes(16).toString('hex')
      const at = new Date(start + i * 60_000).toISOString()
      const row = {
        id: imageId,
        file_id: fileId,
        workspace_id: workspaceId,
        cf_image_id: cf,
        ...s,
        thumbhash: s.thumbhash,
      }
      file.run(
        fileId,
        workspaceId,
        `IMG_${String(i).padStart(6, '0')}.JPG`,
        s.mime,
        s.size,
        s.sha256,
        s.blob_key,
        at,
        s.created_by,
        imageId,
      )
      image.run(
        imageId,
        fileId,
        workspaceId,
        cf,
        s.width,
        s.height,
        s.size,
        s.exif,
        s.thumbhash,
        at,
        imageHead(row),
      )
    }
    db.prepare(
      'update workspace_counters set images = images + ?, files = files + ? where workspace_id = ?',
    ).run(MANY, MANY, workspaceId)
  })()
  db.close()
}

/**
 * Scrolls the gallery of MANY images for a while, a step every frame, recording
 * long tasks (over 50 ms) and the most <img> in the DOM; then End from the first
 * tile, timing how long the oldest image takes to be shown and focused.
 */
async function scrollFigures(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] }
    w.longTasks = []
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push(e.duration)
    }).observe({ type: 'longtask', buffered: false })
  })
  const maxImgs = await page.evaluate(async () => {
    const el = document.querySelector('.scroller') as HTMLElement
    let most = 0
    for (let frame = 0; frame < 600; frame++) {
      el.scrollTop += frame < 300 ? 120 : 2000
      await new Promise((r) => requestAnimationFrame(r))
      most = Math.max(most, document.querySelectorAll('img').length)
    }
    return most
  })
  const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks)
  await page.locator('.scroller').evaluate((el) => {
    el.scrollTop = 0
  })
  await page.locator('button[data-index="0"]').focus()
  const started = Date.now()
  await page.keyboard.press('End')
  await page.waitForFunction(
    (n) => document.activeElement?.getAttribute('data-index') === String(n - 1),
    MANY,
    {
      timeout: 300_000,
    },
  )
  const oldestMs = Date.now() - started
  const oldest = await page.evaluate(() => document.activeElement?.getAttribute('data-image-id'))
  return { maxImgs, longTasks, oldestMs, oldest }
}

/** Lets the tiles' fade-in (0.2 s) end before a screenshot. */
const settle = (page: Page) => page.waitForTimeout(400)

async function main() {
  mkdirSync(OUT, { recursive: true })
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pictura-shots-'))
  const token = `pic_${randomBytes(24).toString('base64url')}`
  const port = await freePort()
  const webDir = builtWebApp()
  const server = await startPictura(
    'serve',
    childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      BOOTSTRAP_ADMIN_TOKEN: token,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      WEB_DIR: webDir,
    }),
  )
  const base = server.base
  const api = async (method: string, url: string, body?: unknown, raw?: Buffer) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': raw ? 'application/octet-stream' : 'application/json',
      },
      body: raw ? new Uint8Array(raw) : body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
    return (await res.json()) as Record<string, unknown>
  }
  const browser = await launchBrowser()
  try {
    // Newest first: the app opens on the workspace made last.
    await api('POST', '/api/workspaces', { name: 'Product shots' })
    const ws = (await api('POST', '/api/workspaces', { name: 'Summer 2026' })) as { id: string }
    process.stdout.write(`Uploading ${PHOTOS} photos…\n`)
    for (let i = 0; i < PHOTOS; i++)
      await api(
        'POST',
        `/api/files?workspace_id=${ws.id}&name=DSCF${String(4100 + i)}.JPG`,
        undefined,
        await photo(i),
      )
    for (;;) {
      const page = (await api('GET', `/api/images?workspace_id=${ws.id}&limit=1`)) as {
        pageInfo: { total: number }
      }
      if (page.pageInfo.total >= PHOTOS) break
      await new Promise((r) => setTimeout(r, 250))
    }

    const signedIn = async (width: number, height: number) => {
      const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 })
      // The token as the sign-in form would keep it: in sessionStorage, never in a URL.
      await context.addInitScript((t) => sessionStorage.setItem('pictura.token', t), token)
      const page = await context.newPage()
      return { context, page }
    }
    const allPainted = (page: Page) =>
      page.waitForFunction(() => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('.scroller img')].filter((i) => {
          const r = i.getBoundingClientRect()
          return r.bottom > 0 && r.top < window.innerHeight
        })
        return (
          imgs.length > 0 &&
          imgs.every((i) => i.complete && i.naturalWidth > 0) &&
          !document.querySelector('.box.loading')
        )
      })

    // First gallery paint of 100 images: navigation start to placeholders, then to every visible image loaded.
    const placeholders: number[] = []
    const loaded: number[] = []
    for (let run = 0; run < PAINT_RUNS; run++) {
      const { context, page } = await signedIn(1280, 800)
      await page.goto(base)
      await page.waitForFunction(() => document.querySelectorAll('button[data-image-id]').length > 0)
      placeholders.push(await page.evaluate(() => performance.now()))
      await allPainted(page)
      loaded.push(await page.evaluate(() => performance.now()))
      await context.close()
    }

    const { context, page } = await signedIn(1280, 800)
    await page.goto(base)
    await allPainted(page)
    await settle(page)
    await page.screenshot({ path: path.join(OUT, 'gallery.png') })

    await page.locator('button[data-index="2"]').click()
    await page.getByRole('dialog').locator('table.exif').first().waitFor()
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.lightbox img.full')
      return img?.complete && img.naturalWidth > 0
    })
    await settle(page)
    await page.screenshot({ path: path.join(OUT, 'lightbox.png') })
    await page.keyboard.press('Escape')

    // Uploads in progress: the connection throttled so the bars stand still long enough to be seen.
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: 50 * 1024 * 1024,
      uploadThroughput: 256 * 1024,
    })
    const big = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => ({
        name: `IMG_${2040 + i}.JPG`,
        mimeType: 'image/jpeg',
        buffer: await photo(500 + i, 2),
      })),
    )
    await page.getByLabel('Files to upload').setInputFiles(big)
    await page.waitForFunction(
      () => document.querySelectorAll('.upload[data-state="uploading"] progress').length >= 3,
    )
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLProgressElement>('.upload progress')].some(
        (p) => p.value > p.max * 0.3,
      ),
    )
    await page.screenshot({ path: path.join(OUT, 'uploading.png') })
    await context.close()

    const mobile = await signedIn(390, 844)
    await mobile.page.goto(base)
    await allPainted(mobile.page)
    await settle(mobile.page)
    await mobile.page.screenshot({ path: path.join(OUT, 'mobile.png') })
    await mobile.page.locator('button[data-index="0"]').click()
    await mobile.page.getByRole('dialog').locator('table.exif').first().waitFor()
    await mobile.page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.lightbox img.full')
      return img?.complete && img.naturalWidth > 0
    })
    await mobile.page.screenshot({ path: path.join(OUT, 'mobile-lightbox.png') })
    await mobile.context.close()

    // Scrolling MANY images: long tasks, <img> count, the oldest image reached.
    const many = (await api('POST', '/api/workspaces', { name: 'Archive (100k)' })) as { id: string }
    seedMany(path.join(dataDir, 'pictura.db'), many.id)
    const archive = await signedIn(1280, 800)
    await archive.context.addInitScript((id) => localStorage.setItem('pictura.workspace', id), many.id)
    await archive.page.goto(base)
    await archive.page.getByText(`${MANY.toLocaleString('en')} images`).waitFor({ timeout: 60_000 })
    const scroll = await scrollFigures(archive.page)
    await archive.context.close()

    const js = readdirSync(path.join(webDir, 'assets')).filter((f) => f.endsWith('.js'))
    const gz = js.reduce(
      (n, f) => n + gzipSync(readFileSync(path.join(webDir, 'assets', f)), { level: 9 }).length,
      0,
    )
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    process.stdout.write(
      [
        `Screenshots written to ${path.relative(ROOT, OUT)}/`,
        `Scrolling ${MANY.toLocaleString('en')} images (600 frames): ${scroll.longTasks.length} long tasks` +
          (scroll.longTasks.length ? ` (longest ${Math.round(Math.max(...scroll.longTasks))} ms)` : '') +
          `, at most ${scroll.maxImgs} <img> in the DOM`,
        `End from the newest tile: the oldest image shown and focused after ${(scroll.oldestMs / 1000).toFixed(1)} s` +
          ` (${scroll.oldest === undefined ? 'none' : `index ${MANY - 1}`})`,
        `JavaScript: ${js.length} files, ${(gz / 1024).toFixed(1)} KiB gzipped`,
        `First gallery paint of ${PHOTOS} images (median of ${PAINT_RUNS}, 1280x800, loopback):` +
          ` tiles with placeholders ${Math.round(median(placeholders))} ms, every visible image loaded ${Math.round(median(loaded))} ms` +
          ` (runs: ${placeholders.map(Math.round).join(', ')} / ${loaded.map(Math.round).join(', ')})`,
        '',
      ].join('\n'),
    )
  } finally {
    await browser.close()
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
