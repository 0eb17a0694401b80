import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type FileObject, PicturaError } from '../../client/index.js'
import { CONNECTION_OPTIONS, parse, positiveInt, required, UsageError } from './args.js'
import { clientFor, type Io, onInterrupt, pool } from './common.js'
import { resolveConnection } from './credentials.js'
import { collectFiles, type LocalFile, sha256Of } from './local-files.js'
import { createReporter, duration, mib, type Tally } from './progress.js'
import { RemoteIndex } from './remote-index.js'

export const IMPORT_USAGE = `Usage: pictura import <folder|files...> --workspace <id> [options]

Uploads every file under the folders (and the files) given, a few at a time,
then waits until each image is provisioned. Files whose bytes the workspace
already holds are skipped (by SHA-256), so running it again after an
interruption uploads only what is missing.

  --workspace, -w <id>   the workspace to import into (required)
  --concurrency <n>      uploads in flight (default 8)
  --no-wait              do not wait for provisioning
  --wait-timeout <s>     how long to wait for images once the uploads are done (default 300)
  --hidden               include hidden files and folders (names starting with a dot)
  --url, --token         the server and token (default: PICTURA_URL, PICTURA_TOKEN, or \`pictura login\`)

Exit code: 0 when every file went in (and every image is ready), 1 when some failed, 2 for usage errors.`

type Outcome =
  | { kind: 'ready'; imageId: string }
  | { kind: 'failed'; reason: string; stage: 'read' | 'upload' | 'provisioning' }
  | { kind: 'not-image'; mime: string }
  | { kind: 'pending' }

interface Entry {
  local: LocalFile
  sha256?: string
  file?: FileObject
  /** Already in the workspace before this upload: the remote copy, or the local file of the same content. */
  skipped?: { remote: FileObject } | { duplicateOf: Entry }
  outcome?: Outcome
  sent: number
}

const TRANSIENT_ATTEMPTS = 5
/** Files up to this size are read whole (at most `concurrency` of them in memory at once). */
const SMALL_FILE = 4 * 1024 * 1024

export async function importCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...CONNECTION_OPTIONS,
    workspace: { type: 'string', short: 'w' },
    concurrency: { type: 'string' },
    'no-wait': { type: 'boolean' },
    'wait-timeout': { type: 'string' },
    hidden: { type: 'boolean' },
  })
  if (positionals.length === 0) throw new UsageError('Name a folder or files to import')
  const workspaceId = required(values.workspace, 'workspace')
  const concurrency = positiveInt(values.concurrency, 'concurrency', 8)
  const waitTimeoutMs = positiveInt(values['wait-timeout'], 'wait-timeout', 300) * 1000
  const wait = !values['no-wait']
  const client = clientFor(await resolveConnection(values))
  const locals = await collectFiles(positionals, { hidden: values.hidden === true })
  await client.workspaces.get(workspaceId).catch((err: unknown) => {
    if (err instanceof PicturaError && err.code === 'not_found')
      throw new UsageError(`Workspace ${workspaceId} not found (or not visible to this token)`)
    throw err
  })

  const started = Date.now()
  const entries: Entry[] = locals.map((local) => ({ local, sent: 0 }))
  const tally: Tally = {
    filesDone: 0,
    filesTotal: entries.length,
    bytesDone: 0,
    bytesTotal: locals.reduce((n, f) => n + f.size, 0),
    failures: 0,
  }
  const report = createReporter(io.stdout, 'Importing')
  report.update(tally)
  const interrupt = onInterrupt()
  const { signal } = interrupt
  signal.addEventListener('abort', () => wake(), { once: true })
  const settle = (e: Entry, outcome: Outcome, line: string) => {
    e.outcome = outcome
    tally.filesDone += 1
    if (outcome.kind === 'failed') tally.failures += 1
    report.event(line, outcome.kind === 'failed')
    report.update(tally)
  }
  const addBytes = (n: number) => {
    tally.bytesDone = Math.min(tally.bytesTotal, tally.bytesDone + n)
    report.update(tally)
  }
  /** Settles an entry from its file's state on the server; a pending image waits (or stays pending). */
  const fromRemote = (e: Entry, file: FileObject, waiting: Map<string, Entry>) => {
    e.file = file
    const { status, id, error } = file.image
    const shown = e.local.display
    if (status === 'ready') settle(e, { kind: 'ready', imageId: id! }, `ready      ${shown} (${id})`)
    else if (status === 'failed')
      settle(
        e,
        { kind: 'failed', reason: error ?? 'provisioning failed', stage: 'provisioning' },
        `failed     ${shown}: ${error}`,
      )
    else if (status === 'none')
      settle(e, { kind: 'not-image', mime: file.mime }, `not image  ${shown} (${file.mime})`)
    else if (status === 'deleted')
      settle(e, { kind: 'ready', imageId: '' }, `stored     ${shown} (its image was deleted)`)
    else if (wait) waiting.set(file.id, e)
    else settle(e, { kind: 'pending' }, `uploaded   ${shown} (${file.id}, provisioning not awaited)`)
  }

  const remote = await RemoteIndex.open(client, workspaceId, entries.length)
  const bySha = new Map<string, Entry>()
  const waiting = new Map<string, Entry>()
  let uploading = true

  const importOne = async (e: Entry) => {
    const shown = e.local.display
    // A small file is read once, hashed and sent from memory; a large one is hashed, then streamed.
    let bytes: Buffer | undefined
    try {
      if (e.local.size <= SMALL_FILE) {
        bytes = await readFile(e.local.path, { signal })
        e.sha256 = createHash('sha256').update(bytes).digest('hex')
      } else e.sha256 = await sha256Of(e.local.path, signal)
    } catch (err) {
      if (signal.aborted) return
      addBytes(e.local.size)
      return settle(
        e,
        { kind: 'failed', reason: message(err), stage: 'read' },
        `failed     ${shown}: ${message(err)}`,
      )
    }
    const twin = bySha.get(e.sha256)
    if (twin) {
      e.skipped = { duplicateOf: twin }
      addBytes(e.local.size)
      return settle(e, { kind: 'pending' }, `skipped    ${shown}: same content as ${twin.local.display}`)
    }
    bySha.set(e.sha256, e)
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return
      try {
        const there = await remote.find(e.sha256, attempt > 1)
        if (there) {
          if (attempt === 1) {
            e.skipped = { remote: there }
            addBytes(e.local.size)
            report.event(`skipped    ${shown}: already there (${there.id})`)
          }
          return fromRemote(e, there, waiting)
        }
        const file = await client.uploadFile(bytes ?? e.local.path, {
          workspaceId,
          name: path.basename(e.local.path),
          signal,
          onProgress: ({ sent }) => {
            addBytes(sent - e.sent)
            e.sent = sent
          },
        })
        report.event(`uploaded   ${shown} (${file.id})`)
        return fromRemote(e, file, waiting)
      } catch (err) {
        if (signal.aborted) return
        if (err instanceof PicturaError && err.transient && attempt < TRANSIENT_ATTEMPTS) {
          // The upload may have landed before the answer was lost: the next attempt looks for it first.
          await sleep(Math.max(err.retryAfterMs ?? 0, 500 * 2 ** attempt), undefined, { signal }).catch(
            () => {},
          )
          continue
        }
        addBytes(e.local.size - e.sent)
        return settle(
          e,
          { kind: 'failed', reason: message(err), stage: 'upload' },
          `failed     ${shown}: ${message(err)}`,
        )
      }
    }
  }

  // Polls the pending images in batches of 100: every 250 ms while uploads go on, every 50 ms after.
  let wake = () => {}
  const waiter = (async () => {
    let lastChange = Date.now()
    while (!signal.aborted && (uploading || waiting.size > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, uploading ? 250 : 50)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
        if (signal.aborted) wake()
      })
      if (signal.aborted || waiting.size === 0) continue
      const ids = [...waiting.keys()].slice(0, 100)
      try {
        const page = await client.files.list({ workspaceId, ids, limit: 100 })
        const found = new Map(page.data.map((f) => [f.id, f]))
        for (const id of ids) {
          const e = waiting.get(id)!
          const file = found.get(id)
          if (file?.image.status === 'pending') continue
          waiting.delete(id)
          lastChange = Date.now()
          if (file) fromRemote(e, file, waiting)
          else
            settle(
              e,
              { kind: 'failed', reason: 'deleted meanwhile', stage: 'provisioning' },
              `failed     ${e.local.display}: deleted meanwhile`,
            )
        }
      } catch (err) {
        if (signal.aborted) break
        report.event(`waiting: ${message(err)}`)
      }
      if (!uploading && Date.now() - lastChange > waitTimeoutMs) {
        for (const e of waiting.values()) {
          const reason = `still being provisioned after ${waitTimeoutMs / 1000} s`
          settle(
            e,
            { kind: 'failed', reason, stage: 'provisioning' },
            `failed     ${e.local.display}: ${reason}`,
          )
        }
        waiting.clear()
      }
    }
  })()

  await pool(entries, concurrency, importOne, signal)
  uploading = false
  wake()
  await waiter
  interrupt.dispose()
  report.stop()
  // A local duplicate ends as its twin does.
  for (const e of entries)
    if (e.skipped && 'duplicateOf' in e.skipped) e.outcome = e.skipped.duplicateOf.outcome
  io.stdout.write(
    summary(entries, {
      workspaceId,
      seconds: (Date.now() - started) / 1000,
      wait,
      interrupted: signal.aborted,
    }),
  )
  if (signal.aborted) return 130
  return entries.some((e) => e.outcome?.kind === 'failed' || e.outcome === undefined) ? 1 : 0
}

function summary(
  entries: Entry[],
  o: { workspaceId: string; seconds: number; wait: boolean; interrupted: boolean },
): string {
  const count = (pick: (e: Entry) => boolean) => entries.filter(pick).length
  const kind = (e: Entry) => e.outcome?.kind
  const fresh = entries.filter((e) => !e.skipped)
  const skipped = entries.filter((e) => e.skipped)
  const bytes = fresh.filter((e) => e.file).reduce((n, e) => n + e.local.size, 0)
  const lines = [
    `${o.interrupted ? 'Interrupted: ' : ''}${entries.length} files, ${mib(bytes)} uploaded into ${o.workspaceId} in ${duration(o.seconds)}`,
    `  ready        ${count((e) => !e.skipped && kind(e) === 'ready')}`,
    `  failed       ${count((e) => !e.skipped && kind(e) === 'failed')}`,
    `  not images   ${count((e) => !e.skipped && kind(e) === 'not-image')}`,
  ]
  const pending = count((e) => !e.skipped && kind(e) === 'pending')
  if (pending > 0) lines.push(`  uploaded     ${pending} (provisioning not awaited)`)
  const of = (k: Outcome['kind']) => skipped.filter((e) => kind(e) === k).length
  const skippedStates = [
    [of('ready'), 'ready'],
    [of('failed'), 'failed'],
    [of('not-image'), 'not images'],
    [of('pending'), 'pending'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, what]) => `${n} ${what}`)
  lines.push(
    `  skipped      ${skipped.length}${skipped.length ? ` (already there: ${skippedStates.join(', ')})` : ''}`,
  )
  const notDone = count((e) => e.outcome === undefined)
  if (notDone > 0) lines.push(`  not done     ${notDone}`)
  const failed = entries.filter((e) => e.outcome?.kind === 'failed')
  if (failed.length > 0) {
    lines.push('Failed:')
    for (const e of failed) {
      const o = e.outcome as Extract<Outcome, { kind: 'failed' }>
      lines.push(`  ${e.local.display}: ${o.reason}${e.skipped ? ' (already there)' : ''}`)
    }
  }
  if (o.interrupted || failed.some((e) => (e.outcome as { stage?: string }).stage !== 'provisioning'))
    lines.push('Run the same command again to finish: files already there are skipped.')
  return `${lines.join('\n')}\n`
}

const message = (err: unknown) =>
  err instanceof PicturaError
    ? `${err.message}${err.status ? ` (${err.status} ${err.code})` : ''}`
    : String(err instanceof Error ? err.message : err)
