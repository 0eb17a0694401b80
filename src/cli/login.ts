import { CONNECTION_OPTIONS, parse, UsageError } from './args.js'
import { clientFor, type Io } from './common.js'
import { credentialsFile, forget, loadStored, normalizeUrl, store } from './credentials.js'

export const LOGIN_USAGE = `Usage: pictura login [--url <url>] [--token <token>]
       pictura logout

Checks the token against the server, then stores both in
${credentialsFile().replace(process.env.HOME ?? '\0', '~')} (readable by you only, mode 0600) for
the other client commands. Without --token, it asks for it (hidden) on a terminal,
or reads it from standard input: \`pictura login --url https://… < token.txt\`.
Without --url: PICTURA_URL, the stored one, or http://127.0.0.1:8787.`

const DEFAULT_URL = 'http://127.0.0.1:8787'

export async function loginCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, CONNECTION_OPTIONS)
  if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`)
  const stored = await loadStored()
  const url = normalizeUrl(values.url || process.env.PICTURA_URL || stored.url || DEFAULT_URL)
  const token = (values.token || process.env.PICTURA_TOKEN || (await readToken(url))).trim()
  if (!token) throw new UsageError('No token given')
  const me = await clientFor({ url, token }).me()
  const file = await store({ url, token })
  io.stdout.write(`Logged in to ${url} as ${me.email} (${me.role}).\nSaved to ${file} (mode 0600).\n`)
  return 0
}

export async function logoutCommand(_args: string[], io: Io): Promise<number> {
  io.stdout.write((await forget()) ? `Removed ${credentialsFile()}\n` : 'Not logged in\n')
  return 0
}

/** On a terminal: asks without echoing. Otherwise: all of standard input. */
async function readToken(url: string): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY) {
    let text = ''
    for await (const chunk of stdin) text += chunk
    return text
  }
  process.stdout.write(`Token for ${url} (pic_…, not shown): `)
  stdin.setRawMode(true)
  stdin.resume()
  stdin.setEncoding('utf8')
  return new Promise((resolve) => {
    let token = ''
    const onData = (chars: string) => {
      for (const ch of chars) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false)
          stdin.pause()
          stdin.off('data', onData)
          process.stdout.write('\n')
          return resolve(token)
        }
        if (ch === '\u0003') {
          process.stdout.write('\n')
          process.exit(130)
        }
        if (ch === '\u007f' || ch === '\b') token = token.slice(0, -1)
        else token += ch
      }
    }
    stdin.on('data', onData)
  })
}
