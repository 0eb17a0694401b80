import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FileObject, PicturaError } from '../../client/index.js'
import { CONNECTION_OPTIONS, parse, positiveInt, required, UsageError } from './args.js'
import { clientFor, type Io, onInterrupt, pool } from './common.js'
import { resolveConnection } from './credentials.js'
import { safeFileName, uniqueName } from './file-names.js'
import { createReporter, duration, mib, type Tally } from './progress.js'

export const EXPORT_USAGE = `Usage: pictura export --workspace <id> <folder> [options]

Downloads the original of every file of the workspace into the folder, under
its file name (made safe and unique), and checks each against its SHA-256.
Interrupted, it resumes where it stopped: names are kept in
<folder>/${'.pictura-export.jsonl'}, finished files are skipped and partial ones continue.

  --workspace, -w <id>   the workspace to export (required)
  --concurrency <n>      downloads in flight (default 4)
  --url, --token         the server and token (default: PICTURA_URL, PICTURA_TOKEN, or \`pictura login\`)

Exit code: 0 when every file is there and verified, 1 when some failed, 2 for usage errors.`

const JOURNAL = '.pictura-export.jsonl'
const ATTEMPTS = 5

interface Job {
  file: FileObject
  name: string
  done: boolean
}

export async function exportCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...CONNECTION_OPTIONS,
    workspace: { type: 'string', short: 'w' },
    concurrency: { type: 'string' },
  })
  const workspaceId = required(values.workspace, 'workspace')
  if (positionals.length !== 1) throw new UsageError('Name one folder to export into')
  const dir = path.resolve(positionals[0]!)
  const concurrency = positiveInt(values.concurrency, 'concurrency', 4)
  const client = clientFor(await resolveConnection(values))
  await client.workspaces.get(workspaceId).catch((err: unknown) => {
    if (err instanceof PicturaError && err.code === 'not_found')
      throw new UsageError(`Workspace ${workspaceId} not found (or not visible to this token)`)
    throw err
  })
  await mkdir(dir, { recursive: true })

  const started = Date.now()
  const files: FileObject[] = []
  for await (const file of client.files.all({ workspaceId })) files.push(file)
  files.reverse() // oldest first: the first file of a name keeps it plain
  const jobs = await plan(dir, files)
  const tally: Tally = {
    filesDone: 0,
    filesTotal: jobs.length,
    bytesDone: 0,
    bytesTotal: files.reduce((n, f) => n + f.size, 0),
    failures: 0,
  }
  const report = createReporter(io.stdout, 'Exporting')
  report.update(tally)
  const interrupt = onInterrupt()
  const { signal } = interrupt
  const outcome = { fresh: 0, there: 0, failed: [] as string[] }
  const add = (n: number) => {
    tally.bytesDone = Math.min(tally.bytesTotal, tally.bytesDone + n)
    report.update(tally)
  }

  await pool(
    jobs,
    concurrency,
    async (job) => {
      const target = path.join(dir, job.name)
      const existing = await stat(target).catch(() => null)
      if (job.done && existing?.size === job.file.size) {
        outcome.there += 1
        add(job.file.size)
      } else {
        const failure = await download(client, job, dir, add, signal)
        if (signal.aborted) return
        if (failure) {
          outcome.failed.push(`${job.name} (${job.file.id}): ${failure}`)
          tally.failures += 1
          report.event(`failed     ${job.name}: ${failure}`, true)
        } else {
          outcome.fresh += 1
          await appendFile(path.join(dir, JOURNAL), `${JSON.stringify({ id: job.file.id, done: true })}\n`)
          report.event(`saved      ${job.name} (${job.file.id}, ${mib(job.file.size)})`)
        }
      }
      tally.filesDone += 1
      report.update(tally)
    },
    signal,
  )
  interrupt.dispose()
  report.stop()
  const seconds = (Date.now() - started) / 1000
  const lines = [
    `${signal.aborted ? 'Interrupted: ' : ''}${jobs.length} files of ${workspaceId} in ${dir} (${duration(seconds)})`,
    `  downloaded and verified   ${outcome.fresh}`,
    `  already there             ${outcome.there}`,
    `  failed                    ${outcome.failed.length}`,
  ]
  const notDone = jobs.length - outcome.fresh - outcome.there - outcome.failed.length
  if (notDone > 0) lines.push(`  not done                  ${notDone}`)
  for (const f of outcome.failed) lines.push(`  ${f}`)
  if (signal.aborted || outcome.failed.length > 0)
    lines.push('Run the same command again to finish: verified files are kept, partial ones continue.')
  io.stdout.write(`${lines.join('\n')}\n`)
  if (signal.aborted) return 130
  return outcome.failed.length > 0 ? 1 : 0
}

/** Each file's local name: as the journal of an earlier run recorded it, else a new safe and unique one. */
async function plan(dir: string, files: FileObject[]): Promise<Job[]> {
  const journal = path.join(dir, JOURNAL)
  const named = new Map<string, { name: string; done: boolean }>()
  const text = await readFile(journal, 'utf8').catch(() => '')
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const entry = JSON.parse(line) as { id: string; name?: string; done?: boolean }
      const known = named.get(entry.id)
      if (entry.name) named.set(entry.id, { name: entry.name, done: known?.done ?? false })
      else if (entry.done && known) known.done = true
    } catch {} // a line cut by a crash
  }
  const taken = new Set((await readdir(dir)).map((n) => n.toLowerCase()))
  for (const { name } of named.values()) taken.add(name.toLowerCase())
  const jobs: Job[] = []
  const fresh: string[] = []
  for (const file of files) {
    const known = named.get(file.id)
    if (known) {
      jobs.push({ file, ...known })
      continue
    }
    const name = uniqueName(safeFileName(file.name, file.id), taken)
    taken.add(name.toLowerCase())
    jobs.push({ file, name, done: false })
    fresh.push(`${JSON.stringify({ id: file.id, name, sha256: file.sha256, size: file.size })}\n`)
  }
  if (fresh.length > 0) await appendFile(journal, fresh.join(''))
  return jobs
}

/**
 * Downloads into `.<name>.part`, continuing a partial one with a Range
 * request, hashing as it goes; renamed to its name once size and SHA-256
 * match. Answers a failure's reason, or undefined when the file is there.
 */
async function download(
  client: ReturnType<typeof clientFor>,
  job: Job,
  dir: string,
  add: (bytes: number) => void,
  signal: AbortSignal,
): Promise<string | undefined> {
  const part = path.join(dir, `.${job.name}.part`)
  let failure = 'not attempted'
  for (let attempt = 1; attempt <= ATTEMPTS && !signal.aborted; attempt++) {
    let offset = (await stat(part).catch(() => null))?.size ?? 0
    if (offset > job.file.size) {
      await truncate(part, 0)
      offset = 0
    }
    let hash = createHash('sha256')
    try {
      if (offset > 0) await pipeline(createReadStream(part), hashInto(hash), { signal })
      if (attempt === 1) add(offset)
      let response: Response | undefined
      if (offset < job.file.size || job.file.size === 0) {
        response = await client.files.download(job.file.id, {
          ...(offset > 0 ? { range: { start: offset }, ifRange: `"${job.file.sha256}"` } : {}),
          signal,
        })
        if (offset > 0 && response.status !== 206) {
          // The whole file came back (If-Range did not match): it replaces the partial one.
          add(-offset)
          offset = 0
          hash = createHash('sha256')
        }
      }
      if (response?.body) {
        const counted = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk)
            add(chunk.length)
            done(null, chunk)
          },
        })
        await pipeline(
          Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
          counted,
          createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' }),
          { signal },
        )
      } else if (offset === 0) {
        await appendFile(part, '')
      }
      const size = (await stat(part)).size
      const digest = hash.digest('hex')
      if (size === job.file.size && digest === job.file.sha256) {
        await rename(part, path.join(dir, job.name))
        return undefined
      }
      failure = `downloaded ${size} bytes with SHA-256 ${digest.slice(0, 12)}…, expected ${job.file.size} with ${job.file.sha256.slice(0, 12)}…`
      add(-size)
      await rm(part, { force: true })
    } catch (err) {
      if (signal.aborted) return 'interrupted'
      failure = err instanceof Error ? err.message : String(err)
      if (err instanceof PicturaError && !err.transient && err.code !== 'network_error') return failure
      await sleep(250 * 2 ** attempt, undefined, { signal }).catch(() => {})
    }
  }
  return failure
}

/** The end of a pipeline that only hashes what flows in. */
const hashInto = (hash: ReturnType<typeof createHash>) => async (source: AsyncIterable<Buffer>) => {
  for await (const chunk of source) hash.update(chunk)
}
