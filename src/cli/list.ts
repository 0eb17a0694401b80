import { type FileObject, type Image, type Page, PicturaError } from '../../client/index.js'
import { CONNECTION_OPTIONS, parse, positiveInt, UsageError } from './args.js'
import { clientFor, type Io } from './common.js'
import { resolveConnection } from './credentials.js'
import { mib } from './progress.js'
import { shortTime, table } from './table.js'

export const IMAGES_USAGE = `Usage: pictura images <ls|get|rm> [options]

  images ls [--workspace <id>] [--limit <n> | --all]   list images, newest first
  images get <id>                                       one image, with its EXIF
  images rm <id...>                                     delete images (their files stay)

  --json                 JSON for scripts (ls: an array; get: the image; rm: what was deleted)
  --url, --token         the server and token (default: PICTURA_URL, PICTURA_TOKEN, or \`pictura login\`)`

export const FILES_USAGE = `Usage: pictura files ls [options]

  files ls [--workspace <id>] [--mime <prefix>] [--sha256 <hex>] [--limit <n> | --all]

  --json                 JSON for scripts (an array of files)
  --url, --token         the server and token (default: PICTURA_URL, PICTURA_TOKEN, or \`pictura login\`)`

const LIST_OPTIONS = {
  ...CONNECTION_OPTIONS,
  workspace: { type: 'string', short: 'w' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
} as const

export async function imagesCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'ls' || sub === 'list') {
    const { values, positionals } = parse(rest, LIST_OPTIONS)
    if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`)
    const client = clientFor(await resolveConnection(values))
    const query = { workspaceId: values.workspace, limit: positiveInt(values.limit, 'limit', 20) }
    const rows = await collect(values.all === true, (after) =>
      client.images.list({ ...query, limit: values.all ? 100 : query.limit, after }),
    )
    if (values.json) io.stdout.write(`${JSON.stringify(rows.data, null, 2)}\n`)
    else {
      io.stdout.write(
        table(
          ['ID', 'FILE', 'WIDTH', 'HEIGHT', 'SIZE', 'CREATED'],
          rows.data.map((i) => [i.id, i.fileId, i.width, i.height, mib(i.size), shortTime(i.createdAt)]),
        ),
      )
      io.stdout.write(footer(rows, 'images'))
    }
    return 0
  }
  if (sub === 'get') {
    const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } })
    if (positionals.length !== 1) throw new UsageError('Name one image id')
    const image = await clientFor(await resolveConnection(values)).images.get(positionals[0]!)
    io.stdout.write(values.json ? `${JSON.stringify(image, null, 2)}\n` : describeImage(image))
    return 0
  }
  if (sub === 'rm' || sub === 'delete') {
    const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } })
    if (positionals.length === 0) throw new UsageError('Name the image ids to delete')
    const client = clientFor(await resolveConnection(values))
    const deleted: string[] = []
    const failed: { id: string; code: string; message: string }[] = []
    for (const id of positionals) {
      try {
        await client.images.delete(id)
        deleted.push(id)
        if (!values.json) io.stdout.write(`deleted ${id}\n`)
      } catch (err) {
        if (!(err instanceof PicturaError)) throw err
        failed.push({ id, code: err.code, message: err.message })
        if (!values.json) io.stderr.write(`failed  ${id}: ${err.message}\n`)
      }
    }
    if (values.json) io.stdout.write(`${JSON.stringify({ deleted, failed }, null, 2)}\n`)
    return failed.length > 0 ? 1 : 0
  }
  throw new UsageError(sub === undefined ? 'Name a subcommand: ls, get or rm' : `Unknown subcommand '${sub}'`)
}

export async function filesCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'ls' && sub !== 'list')
    throw new UsageError(sub === undefined ? 'Name a subcommand: ls' : `Unknown subcommand '${sub}'`)
  const { values, positionals } = parse(rest, {
    ...LIST_OPTIONS,
    mime: { type: 'string' },
    sha256: { type: 'string' },
  })
  if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`)
  const client = clientFor(await resolveConnection(values))
  const limit = positiveInt(values.limit, 'limit', 20)
  const query = { workspaceId: values.workspace, mime: values.mime, sha256: values.sha256 }
  const rows = await collect(values.all === true, (after) =>
    client.files.list({ ...query, limit: values.all ? 100 : limit, after }),
  )
  if (values.json) io.stdout.write(`${JSON.stringify(rows.data, null, 2)}\n`)
  else {
    io.stdout.write(
      table(
        ['ID', 'NAME', 'TYPE', 'SIZE', 'IMAGE', 'CREATED'],
        rows.data.map((f) => [f.id, f.name, f.mime, mib(f.size), imageState(f), shortTime(f.createdAt)]),
      ),
    )
    io.stdout.write(footer(rows, 'files'))
  }
  return 0
}

/** One page, or with `all` every page. */
async function collect<T>(all: boolean, list: (after?: string) => Promise<Page<T>>): Promise<Page<T>> {
  const first = await list()
  if (!all) return first
  const data = [...first.data]
  for (let page = first; page.pageInfo.hasNextPage && page.pageInfo.endCursor; ) {
    page = await list(page.pageInfo.endCursor)
    data.push(...page.data)
  }
  return { data, pageInfo: { ...first.pageInfo, hasNextPage: false } }
}

function footer(page: Page<unknown>, what: string): string {
  const shown = page.data.length
  if (!page.pageInfo.hasNextPage) return `${shown} ${shown === 1 ? what.slice(0, -1) : what}\n`
  return `${shown} of ${page.pageInfo.total} ${what} (--all for every one, --limit for more a page)\n`
}

const imageState = (f: FileObject) =>
  f.image.status === 'failed' ? `failed: ${f.image.error ?? ''}`.slice(0, 60) : f.image.status

function describeImage(i: Image): string {
  const rows: [string, string][] = [
    ['id', i.id],
    ['file', i.fileId],
    ['workspace', i.workspaceId],
    ['dimensions', `${i.width} × ${i.height}`],
    ['size', `${mib(i.size)} (${i.size} bytes)`],
    ['url', i.url],
    ['created', i.createdAt],
  ]
  for (const [tag, value] of Object.entries(i.exif)) rows.push([`exif ${tag}`, JSON.stringify(value)])
  const width = Math.max(...rows.map(([k]) => k.length))
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`
}
