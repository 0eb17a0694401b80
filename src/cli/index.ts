import { PicturaError } from '../../client/index.js'
import { UsageError } from './args.js'
import type { Io } from './common.js'
import { EXPORT_USAGE, exportCommand } from './export.js'
import { IMPORT_USAGE, importCommand } from './import.js'
import { FILES_USAGE, filesCommand, IMAGES_USAGE, imagesCommand } from './list.js'
import { LOGIN_USAGE, loginCommand, logoutCommand } from './login.js'

/**
 * The client commands of `pictura`: they talk HTTP to any Pictura through the
 * typed client (client/) and need none of the server's configuration.
 */
const COMMANDS: Record<string, { run: (args: string[], io: Io) => Promise<number>; usage: string }> = {
  login: { run: loginCommand, usage: LOGIN_USAGE },
  logout: { run: logoutCommand, usage: LOGIN_USAGE },
  import: { run: importCommand, usage: IMPORT_USAGE },
  export: { run: exportCommand, usage: EXPORT_USAGE },
  images: { run: imagesCommand, usage: IMAGES_USAGE },
  files: { run: filesCommand, usage: FILES_USAGE },
}

/** Runs a client command; answers its exit code (2 for usage errors, 1 when the server refused). */
export async function runClientCommand(command: string, args: string[]): Promise<number> {
  const io: Io = { stdout: process.stdout, stderr: process.stderr }
  const spec = COMMANDS[command]!
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${spec.usage}\n`)
    return 0
  }
  try {
    return await spec.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`pictura ${command}: ${err.message}\n\n${spec.usage}\n`)
      return 2
    }
    if (err instanceof PicturaError) {
      const hint = err.status === 401 ? ' (run `pictura login`, or check --token)' : ''
      io.stderr.write(
        `pictura ${command}: ${err.message}${err.status ? ` (${err.status} ${err.code})` : ''}${hint}\n`,
      )
      return 1
    }
    throw err
  }
}
