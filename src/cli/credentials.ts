import { chmod, mkdir, open, readFile, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'
import { UsageError } from './args.js'

/** Where a client command talks to, and as whom. */
export interface Connection {
  url: string
  token: string
}

/**
 * The user's config directory for Pictura: PICTURA_CONFIG_DIR, else the
 * platform's own (XDG_CONFIG_HOME or ~/.config on Linux, Application Support
 * on macOS, %APPDATA% on Windows).
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PICTURA_CONFIG_DIR) return env.PICTURA_CONFIG_DIR
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'pictura')
  if (process.platform === 'darwin') return path.join(homedir(), 'Library', 'Application Support', 'pictura')
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'pictura')
}

export const credentialsFile = (env: NodeJS.ProcessEnv = process.env) =>
  path.join(configDir(env), 'credentials.json')

export async function loadStored(env: NodeJS.ProcessEnv = process.env): Promise<Partial<Connection>> {
  try {
    const stored = JSON.parse(await readFile(credentialsFile(env), 'utf8')) as Partial<Connection>
    return { url: stored.url, token: stored.token }
  } catch {
    return {}
  }
}

/** Saves the connection readable by the user alone: the directory 0700, the file 0600, even if they existed. */
export async function store(connection: Connection, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = credentialsFile(env)
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const handle = await open(file, 'w', 0o600)
  try {
    await handle.chmod(0o600)
    await handle.writeFile(`${JSON.stringify({ url: connection.url, token: connection.token }, null, 2)}\n`)
  } finally {
    await handle.close()
  }
  await chmod(file, 0o600)
  return file
}

export async function forget(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = credentialsFile(env)
  try {
    await rm(file)
    return true
  } catch {
    return false
  }
}

/** --url / --token, else PICTURA_URL / PICTURA_TOKEN, else what `pictura login` stored. */
export async function resolveConnection(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const stored = flags.url && flags.token ? {} : await loadStored(env)
  const url = flags.url || env.PICTURA_URL || stored.url
  const token = flags.token || env.PICTURA_TOKEN || stored.token
  if (!url || !token) {
    throw new UsageError(
      `No ${url ? 'token' : 'server'}: run \`pictura login\`, or pass --url and --token (or set PICTURA_URL and PICTURA_TOKEN)`,
    )
  }
  return { url: normalizeUrl(url), token }
}

export function normalizeUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`'${url}' is not a URL (such as http://127.0.0.1:8787)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`'${url}' is not an http(s) URL`)
  return parsed.toString().replace(/\/+$/, '')
}
