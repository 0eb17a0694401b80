import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { opendir, stat } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from './args.js'

export interface LocalFile {
  /** As the user would name it: relative to the folder given, or the path given. */
  display: string
  path: string
  size: number
}

/**
 * The regular files under the given folders and files, in a stable order
 * (sorted by name, folder by folder). Hidden entries (a leading dot) are left
 * out unless asked for; symbolic links to files are followed, to folders not
 * (no loops). A path that does not exist is a usage error.
 */
export async function collectFiles(inputs: string[], options: { hidden: boolean }): Promise<LocalFile[]> {
  const out: LocalFile[] = []
  const seen = new Set<string>()
  const add = (file: LocalFile) => {
    if (seen.has(file.path)) return
    seen.add(file.path)
    out.push(file)
  }
  for (const input of inputs) {
    const absolute = path.resolve(input)
    const info = await stat(absolute).catch(() => null)
    if (!info) throw new UsageError(`${input}: no such file or folder`)
    if (info.isFile()) add({ display: input, path: absolute, size: info.size })
    else if (info.isDirectory()) await walk(absolute, input, options.hidden, add)
    else throw new UsageError(`${input}: not a file or folder`)
  }
  return out
}

async function walk(dir: string, shown: string, hidden: boolean, add: (file: LocalFile) => void) {
  const entries: { name: string; kind: 'file' | 'dir' | 'link' }[] = []
  for await (const entry of await opendir(dir)) {
    if (!hidden && entry.name.startsWith('.')) continue
    if (entry.isFile()) entries.push({ name: entry.name, kind: 'file' })
    else if (entry.isDirectory()) entries.push({ name: entry.name, kind: 'dir' })
    else if (entry.isSymbolicLink()) entries.push({ name: entry.name, kind: 'link' })
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    const display = path.join(shown, entry.name)
    if (entry.kind === 'dir') await walk(full, display, hidden, add)
    else {
      const info = await stat(full).catch(() => null)
      if (info?.isFile()) add({ display, path: full, size: info.size })
    }
  }
}

/** The hex SHA-256 of a file, read as a stream. */
export function sha256Of(file: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    const stream = createReadStream(file, { highWaterMark: 64 * 1024, signal })
    stream.on('data', (chunk) => hash.update(chunk))
    stream.on('error', reject)
    stream.on('end', () => resolve(hash.digest('hex')))
  })
}
