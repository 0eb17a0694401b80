import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { client, json, newImage, newUser, newWorkspace } from '../factories.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { builtWebApp, launchBrowser } from '../support/browser.js'
import { freePort } from '../support/free-port.js'
import * as images from '../support/images.js'
import { childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'

/**
 * The web app end to end: a real `pictura serve` (on this pass's database, a
 * temporary data dir) serving the app built by Vite, driven in Debian's
 * Chromium by playwright-core. Waits are for states the app reaches, never
 * for times.
 */

let t: TestEnv
let server: PicturaProcess
let browser: Browser
let base: string

before(async () => {
  // The port is chosen first: delivery URLs (PUBLIC_URL) must name it.
  const port = await freePort()
  t = await createTestEnv({ PUBLIC_URL: `http://127.0.0.1:${port}` })
  const webDir = builtWebApp()
  server = await startPictura(
    'serve',
    childEnv({ ...t.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', WEB_DIR: webDir }),
  )
  base = server.base
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await server?.stop()
  await t?.close()
})

const contexts: BrowserContext[] = []
after(async () => {
  for (const c of contexts) await c.close().catch(() => {})
})

/** A fresh browser profile at a viewport; fails the test on any console error (a CSP violation is one). */
async function open(width = 1280, height = 800): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } })
  contexts.push(context)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => {
    // A failed image fetch logs too (seeded images have no bytes): only script and policy errors count.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(base)
  return { page, errors }
}

async function signIn(page: Page, token: string, remember = false) {
  await page.getByLabel('Token').fill(token)
  if (remember) await page.getByLabel('Remember on this device').check()
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

/**
 * Waits for the gallery to reach `text` (a count); on a timeout the failure
 * says what the page's uploads and the server's files were then, and what the
 * server logged, so a miss on a loaded machine tells where it stopped.
 */
async function galleryShows(page: Page, text: string, owner: { api: ReturnType<typeof client> }) {
  try {
    await page.getByText(text).waitFor({ timeout: 60_000 })
  } catch (err) {
    const uploads = await page
      .locator('.upload')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-name')}: ${e.getAttribute('data-state')}`))
    const shown = await page.locator('main h1, main h2, main p').allTextContents()
    const files = json<{ data: { name: string; image: unknown }[] }>(await owner.api.get('/api/files')).data
    throw new Error(
      `${(err as Error).message}\nuploads: ${uploads.join(', ')}\npage: ${shown.join(' | ')}\nfiles: ${JSON.stringify(files.map((f) => [f.name, f.image]))}\nserver: ${server.output().slice(-4000)}`,
    )
  }
}

async function seriousViolations(page: Page, include?: string) {
  const builder = new AxeBuilder({ page })
  if (include) builder.include(include)
  const result = await builder.analyze()
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
}

test('the app is served at / with a strict CSP and cache rules; API answers are unchanged', async () => {
  const page = await fetch(base)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.equal(page.headers.get('cache-control'), 'no-cache')
  const csp = page.headers.get('content-security-policy') ?? ''
  assert.match(csp, /script-src 'self'(;|$)/)
  assert.match(csp, /default-src 'none'/)
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
  const html = await page.text()
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script')
  const script = /<script[^>]*src="([^"]+)"/.exec(html)?.[1]
  assert.ok(script?.startsWith('/assets/'), 'a hashed asset')
  const asset = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'gzip' } })
  assert.equal(asset.status, 200)
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  assert.match(asset.headers.get('content-type') ?? '', /javascript/)
  const api = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${t.adminToken}` } })
  assert.equal(api.status, 200)
  assert.equal(api.headers.get('content-security-policy'), null, 'the API answers as before')
  assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404)
})

test('sign in: a wrong token is refused with a message, a good one signs in, sign out forgets it', async () => {
  const user = await newUser(t)
  const { page, errors } = await open()
  assert.deepEqual(await seriousViolations(page), [], 'sign-in view')
  await page.getByLabel('Token').fill('pic_wrongwrongwrongwrongwrong')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor()
  await signIn(page, user.token)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pictura.token')), user.token)
  assert.equal(await page.evaluate(() => localStorage.getItem('pictura.token')), null, 'not remembered')
  assert.ok(!page.url().includes(user.token), 'no token in the URL')
  await page.reload()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Token').waitFor()
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pictura.token')), null)
  await signIn(page, user.token, true)
  assert.equal(await page.evaluate(() => localStorage.getItem('pictura.token')), user.token, 'remembered')
  assert.deepEqual(errors, [])
})

test('a revoked token returns to sign-in with a clear message', async () => {
  const user = await newUser(t)
  const admin = client(t, t.adminToken)
  const { page } = await open()
  await signIn(page, user.token)
  // The app has loaded what it shows (its workspaces) before the token goes.
  await page.getByRole('heading', { name: 'No workspace yet' }).waitFor()
  const tokens = json<{ data: { id: string }[] }>(await user.api.get('/api/tokens'))
  for (const tok of tokens.data) assert.equal((await admin.del(`/api/tokens/${tok.id}`)).statusCode, 200)
  await page.getByRole('button', { name: 'Tokens' }).click()
  await page.getByRole('alert').filter({ hasText: 'revoked' }).waitFor()
  await page.getByLabel('Token').waitFor()
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pictura.token')), null)
})

test('a new user creates a workspace; a second user does not see it', async () => {
  const first = await newUser(t)
  const second = await newUser(t)
  const { page } = await open()
  await signIn(page, first.token)
  await page.getByRole('heading', { name: 'No workspace yet' }).waitFor()
  await page.getByLabel('Workspace name').fill('Holiday 2026')
  await page.getByRole('button', { name: 'Create workspace' }).click()
  await page.getByRole('heading', { name: 'Images' }).waitFor()
  await page.getByText('No images here yet.').waitFor()
  assert.equal(await page.locator('#ws-select option:checked').textContent(), 'Holiday 2026')

  const other = await open()
  await signIn(other.page, second.token)
  await other.page.getByRole('heading', { name: 'No workspace yet' }).waitFor()
  assert.equal(await other.page.locator('#ws-select option').count(), 0)
  assert.equal(await other.page.getByText('Holiday 2026').count(), 0)
})

test('six files at once reach their states; duplicates are flagged; lightbox, EXIF, arrows, delete', async () => {
  const owner = await newUser(t)
  await newWorkspace(owner, 'Uploads')
  const { page, errors } = await open()
  await signIn(page, owner.token)
  await page.getByText('No images here yet.').waitFor()
  const files = [
    { name: 'camera.jpg', mimeType: 'image/jpeg', buffer: await images.cameraJpeg() },
    { name: 'pixels.png', mimeType: 'image/png', buffer: await images.samplePng('rgb') },
    { name: 'sample.webp', mimeType: 'image/webp', buffer: await images.sampleWebp() },
    { name: 'portrait.jpg', mimeType: 'image/jpeg', buffer: await images.portrait(6) },
    { name: 'truncated.jpg', mimeType: 'image/jpeg', buffer: await images.truncatedJpeg() },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image\n') },
  ]
  await page.getByLabel('Files to upload').setInputFiles(files)
  const row = (name: string) => page.locator(`.upload[data-name="${name}"]`)
  const expected: Record<string, string> = {
    'camera.jpg': 'ready',
    'pixels.png': 'ready',
    'sample.webp': 'ready',
    'portrait.jpg': 'ready',
    'truncated.jpg': 'failed',
    'notes.txt': 'none',
  }
  for (const [name, state] of Object.entries(expected))
    await row(name)
      .and(page.locator(`[data-state="${state}"]`))
      .waitFor({ timeout: 60_000 })
  assert.match((await row('truncated.jpg').textContent()) ?? '', /Failed: .+/, 'the reason is shown')
  assert.match((await row('notes.txt').textContent()) ?? '', /Not an image/)
  await galleryShows(page, '4 images', owner)

  // The portrait (orientation 6, stored 600x450) shows upright: a tall box, a tall delivered image.
  const portrait = json<{ data: { id: string; width: number; height: number }[] }>(
    await owner.api.get('/api/images'),
  ).data.find((i) => i.height > i.width)
  assert.ok(portrait, 'the portrait is listed upright')
  const tile = page.locator(`[data-image-id="${portrait.id}"]`)
  const box = await tile.boundingBox()
  assert.ok(box && box.height > box.width * 1.2, `tall box ${JSON.stringify(box)}`)
  await tile.locator('img.loaded').waitFor()
  const natural = await tile
    .locator('img')
    .evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])
  assert.ok((natural[1] ?? 0) > (natural[0] ?? 0), `delivered upright: ${natural}`)

  // The same bytes again, dropped on the page: flagged before sending, then sent when asked.
  const dropped = await page.evaluateHandle(
    ([name, base64]) => {
      const transfer = new DataTransfer()
      const bytes = Uint8Array.from(atob(base64 as string), (c) => c.charCodeAt(0))
      transfer.items.add(new File([bytes], name as string, { type: 'image/jpeg' }))
      return transfer
    },
    ['camera.jpg', (files[0] as (typeof files)[0]).buffer.toString('base64')],
  )
  await page.dispatchEvent('main', 'dragenter', { dataTransfer: dropped })
  await page.locator('.dropzone').waitFor()
  await page.dispatchEvent('main', 'drop', { dataTransfer: dropped })
  const dup = page.locator('.upload[data-state="duplicate"]')
  await dup.waitFor()
  assert.match((await dup.textContent()) ?? '', /Already in this workspace as “camera.jpg”/)
  await dup.getByRole('button', { name: 'Upload anyway' }).click()
  await galleryShows(page, '5 images', owner)

  // The lightbox: the newest first (the second camera.jpg), its EXIF, arrows, Esc back to its tile.
  await page.locator('[data-index="0"]').click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('heading', { name: 'camera.jpg' }).waitFor()
  assert.deepEqual(await seriousViolations(page), [], 'lightbox view')
  const exif = dialog.locator('table.exif').first()
  assert.match((await exif.textContent()) ?? '', /CameraApple iPhone 7/)
  assert.match((await exif.textContent()) ?? '', /Exposure1\/20 s/)
  assert.match((await exif.textContent()) ?? '', /Lensi?Phone 7 back camera|LensiPhone/)
  assert.match((await dialog.textContent()) ?? '', /64 × 48 px/)
  assert.equal(await dialog.getByLabel('URL of the thumbnail variant').count(), 1)
  await page.keyboard.press('ArrowRight')
  await dialog.getByText('2 of 5').waitFor()
  await page.keyboard.press('ArrowRight')
  await dialog.getByText('3 of 5').waitFor()
  await page.keyboard.press('ArrowLeft')
  await dialog.getByText('2 of 5').waitFor()
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-index') === '1')

  // Delete from the lightbox, with confirmation: the image goes, its file stays.
  await page.locator('[data-index="0"]').click()
  await dialog.getByRole('button', { name: 'Delete…' }).click()
  await dialog.getByRole('button', { name: 'Delete image' }).click()
  await dialog.getByText('Image deleted').waitFor()
  await page.keyboard.press('Escape')
  await page.getByText('4 images').waitFor()
  await page.getByRole('button', { name: 'Files' }).click()
  await page.getByText('7 files', { exact: true }).waitFor()
  await page.locator('.badge.failed').waitFor()
  // The deleted image's file is provisioned again from the Files view, which follows it until it is ready.
  const again = page.locator('tr', { has: page.locator('.badge.deleted') })
  const againId = await again.getAttribute('data-file-id')
  // However fast the image is made, the view asks for it once it is ready (a gallery opened meanwhile updates then).
  const followed = page.waitForRequest((r) => r.url().endsWith(`/api/images/by-file/${againId}`), {
    timeout: 60_000,
  })
  await again.getByRole('button', { name: 'Provision again' }).click()
  await page.getByRole('status').filter({ hasText: 'Provisioning again' }).waitFor()
  await followed
  await page.locator(`tr[data-file-id="${againId}"] .badge.ready`).waitFor()
  await page.getByRole('button', { name: 'Gallery' }).click()
  await galleryShows(page, '5 images', owner)

  // While image bytes are on their way, each tile is painted with its thumbhash, in its aspect ratio.
  // A fresh page whose image requests never answer: this page's memory cache would paint tiles at once.
  const waiting = await open()
  await waiting.page.route('**/cdn/**', () => {})
  await signIn(waiting.page, owner.token)
  await waiting.page.locator('button[data-index="4"]').waitFor()
  const painted = await waiting.page.$$eval('button[data-image-id]', (els) =>
    els.map((e) => (e as HTMLElement).style.backgroundImage.startsWith('url("data:image/png')),
  )
  assert.deepEqual(painted, [true, true, true, true, true])
  assert.deepEqual([...errors, ...waiting.errors], [])
})

test('owners manage members and roles; tokens show their secret once and can be revoked', async () => {
  const owner = await newUser(t)
  const member = await newUser(t)
  await newWorkspace(owner, 'Team')
  const { page, errors } = await open()
  await signIn(page, owner.token)
  await page.getByRole('navigation').getByRole('button', { name: 'Workspace', exact: true }).click()
  await page.getByRole('heading', { name: 'Members' }).waitFor()
  await page.locator('select[aria-label^="Role of"]').first().waitFor()
  assert.deepEqual(await seriousViolations(page), [], 'workspace view')
  await page.getByLabel('Name', { exact: true }).fill('Team photos')
  await page.getByRole('button', { name: 'Rename' }).click()
  await page.locator('#ws-select option:checked', { hasText: 'Team photos' }).waitFor({ state: 'attached' })
  await page.getByLabel('Add a member by user id').fill(member.id)
  await page.getByLabel('Role of the new member').selectOption('editor')
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  // The owner is no admin: members show by name, their email withheld (API.md section 4).
  const role = page.getByLabel(`Role of ${member.name}`, { exact: true })
  await role.waitFor()
  assert.equal(await role.inputValue(), 'editor')
  await role.selectOption('viewer')
  await page.waitForFunction(
    async ([id]) => {
      const token = sessionStorage.getItem('pictura.token')
      const ws = await (
        await fetch('/api/workspaces', { headers: { authorization: `Bearer ${token}` } })
      ).json()
      const members = await (
        await fetch(`/api/workspaces/${ws.data[0].id}/members`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()
      return members.data.some(
        (m: { userId: string; role: string }) => m.userId === id && m.role === 'viewer',
      )
    },
    [member.id],
  )

  await page.getByRole('button', { name: 'Tokens' }).click()
  await page.getByLabel('New token name').fill('laptop')
  await page.getByRole('button', { name: 'Create token' }).click()
  const secret = await page.getByLabel('The new token', { exact: true }).inputValue()
  assert.match(secret, /^pic_/)
  assert.equal(
    (await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${secret}` } })).status,
    200,
  )
  assert.deepEqual(await seriousViolations(page), [], 'tokens view')
  await page.getByRole('button', { name: 'Done' }).click()
  assert.equal(await page.getByLabel('The new token', { exact: true }).count(), 0, 'shown once')
  const row = page.locator('tr', { hasText: 'laptop' })
  await row.getByRole('button', { name: 'Revoke…' }).click()
  await row.getByRole('button', { name: 'Revoke now' }).click()
  await row.waitFor({ state: 'detached' })
  assert.equal(
    (await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${secret}` } })).status,
    401,
  )
  assert.deepEqual(errors, [])
})

test('forty files dropped at once go three at a time and each ends in its state', async () => {
  const owner = await newUser(t)
  await newWorkspace(owner, 'Bulk')
  const { page, errors } = await open()
  await signIn(page, owner.token)
  await page.getByText('No images here yet.').waitFor()
  // The most files hashed or sent at once, as the panel shows them.
  await page.evaluate(() => {
    const w = window as unknown as { busiest: number }
    w.busiest = 0
    new MutationObserver(() => {
      const busy = document.querySelectorAll(
        '.upload[data-state="hashing"], .upload[data-state="uploading"]',
      ).length
      w.busiest = Math.max(w.busiest, busy)
    }).observe(document.body, { subtree: true, childList: true, attributes: true })
  })
  const files = Array.from({ length: 40 }, (_, i) => ({
    name: `note-${i}.txt`,
    mimeType: 'text/plain',
    buffer: Buffer.from(`note ${i}\n`.repeat(200)),
  }))
  await page.getByLabel('Files to upload').setInputFiles(files)
  await page.getByText('done · 40 files').waitFor({ timeout: 60_000 })
  assert.equal(await page.locator('.upload[data-state="none"]').count(), 40)
  const busiest = await page.evaluate(() => (window as unknown as { busiest: number }).busiest)
  assert.ok(busiest >= 1 && busiest <= 3, `at most three at once: ${busiest}`)
  await page.getByRole('navigation').getByRole('button', { name: 'Files', exact: true }).click()
  await page.getByText('40 files', { exact: true }).waitFor()
  assert.deepEqual(errors, [])
})

test('scrolling through 250 images shows every one exactly once, with few <img> at a time', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner, 'Many')
  const made: string[] = []
  for (let i = 0; i < 250; i++)
    made.push((await newImage(t, ws.id, { width: 400 + (i % 3) * 200, height: 400 })).id)
  const { page } = await open()
  await signIn(page, owner.token)
  await page.getByText('250 images').waitFor()
  assert.deepEqual(await seriousViolations(page), [], 'gallery view')
  const seen = new Map<number, string>()
  const scroller = page.locator('.scroller')
  const collect = async () => {
    // After the scroll has been rendered, and every cell in the DOM has its image (no placeholder left).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    await page.waitForFunction(() => !document.querySelector('.box.loading'))
    const visible = await page.$$eval('[data-image-id]', (els) =>
      els.map((e) => [Number(e.getAttribute('data-index')), e.getAttribute('data-image-id') ?? ''] as const),
    )
    const ids = visible.map(([, id]) => id)
    assert.equal(new Set(ids).size, ids.length, 'no image twice on screen')
    for (const [index, id] of visible) {
      const before = seen.get(index)
      assert.ok(before === undefined || before === id, `index ${index} stays the same image`)
      seen.set(index, id)
    }
    assert.ok((await page.locator('img').count()) < 400)
  }
  for (let atBottom = false; !atBottom; ) {
    await collect()
    atBottom = await scroller.evaluate((el) => {
      const bottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 1
      el.scrollTop += el.clientHeight / 2
      return bottom
    })
  }
  const ids = [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, id]) => id)
  assert.equal(ids.length, 250, 'every image')
  assert.equal(new Set(ids).size, 250, 'each once')
  assert.deepEqual(ids, [...made].reverse(), 'newest first')

  // Deep in the grid: open a tile, move on with the arrow key, close; focus lands on the tile shown last, no scroll jump.
  await scroller.evaluate((el) => {
    el.scrollTop = el.scrollHeight / 2
  })
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  const [index, top] = await scroller.evaluate((el) => {
    const tiles = [...el.querySelectorAll<HTMLElement>('button[data-index]')]
    const middle = tiles.find((b) => b.getBoundingClientRect().top > el.getBoundingClientRect().top + 40)
    return [Number(middle?.getAttribute('data-index')), el.scrollTop]
  })
  await page.locator(`button[data-index="${index}"]`).click()
  await page
    .getByRole('dialog')
    .getByText(`${index + 1} of 250`)
    .waitFor()
  await page.keyboard.press('ArrowRight')
  await page
    .getByRole('dialog')
    .getByText(`${index + 2} of 250`)
    .waitFor()
  await page.keyboard.press('Escape')
  await page.waitForFunction(
    (i) => document.activeElement?.getAttribute('data-index') === String(i),
    index + 1,
  )
  assert.equal(await scroller.evaluate((el) => el.scrollTop), top, 'the grid did not move')
})

test('at 390 px wide nothing scrolls sideways: sign-in, gallery, lightbox, files', async () => {
  const owner = await newUser(t)
  const ws = await newWorkspace(owner, 'A workspace with a rather long name for a phone')
  for (let i = 0; i < 12; i++)
    await newImage(t, ws.id, { width: 300, height: 200 + i * 20, exif: { Make: 'X' } })
  const { page } = await open(390, 844)
  const noSideways = async (where: string) => {
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter(
          (e) =>
            e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap, .sr-only'),
        )
        .map((e) => `${e.tagName}.${e.className}`)
        .slice(0, 5),
    )
    assert.deepEqual(wide, [], `${where}: elements past the right edge`)
    const [scroll, client] = await page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ])
    assert.ok(scroll <= client, `${where}: ${scroll} > ${client}`)
  }
  await noSideways('sign-in')
  await signIn(page, owner.token)
  await page.getByText('12 images').waitFor()
  await noSideways('gallery')
  await page.locator('[data-index="0"]').click()
  await page.getByRole('dialog').getByText('1 of 12').waitFor()
  await noSideways('lightbox')
  await page.keyboard.press('Escape')
  await page.getByRole('button', { name: 'Files' }).click()
  await page.getByText('12 files', { exact: true }).waitFor()
  await noSideways('files')
})
