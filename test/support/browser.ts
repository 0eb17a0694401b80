import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Browser, chromium } from 'playwright-core'

/**
 * The web app in a real browser: Debian's Chromium (`apt-get install chromium`,
 * /usr/bin/chromium; PICTURA_TEST_CHROMIUM for another) driven by
 * playwright-core, which downloads no browser of its own.
 */
const ROOT = path.resolve(import.meta.dirname, '../..')
export const CHROMIUM = process.env.PICTURA_TEST_CHROMIUM ?? '/usr/bin/chromium'

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set PICTURA_TEST_CHROMIUM)`)
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  })
}

/**
 * The app built by Vite into a folder of the temp dir named by a hash of its
 * sources (web/, client/), so both database passes and every test file share
 * one build; built into a side folder and renamed, so a half-built app is never
 * served. Returns the folder, for WEB_DIR.
 */
export function builtWebApp(): string {
  const hash = createHash('sha256')
  for (const dir of ['web', 'client'])
    for (const rel of readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).sort()) {
      const file = path.join(ROOT, dir, rel)
      try {
        hash.update(rel).update(readFileSync(file))
      } catch {
        // a folder
      }
    }
  hash.update(readFileSync(path.join(ROOT, 'package-lock.json')))
  const out = path.join(tmpdir(), `pictura-web-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(path.join(out, 'index.html'))) return out
  const building = `${out}.${process.pid}`
  const vite = path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '-c', 'web/vite.config.ts', '--logLevel', 'error'],
    {
      cwd: ROOT,
      env: { ...process.env, PICTURA_WEB_OUT: building },
      encoding: 'utf8',
    },
  )
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`)
  try {
    renameSync(building, out)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another process won the race: its build is the same
  }
  return out
}
