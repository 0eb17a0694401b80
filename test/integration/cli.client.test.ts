import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import sharp from 'sharp'
import { createClient, type FileObject, type PicturaClient } from '../../client/index.js'
import { createTestEnv, type TestEnv } from '../harness.js'
import { childEnv, type PicturaProcess, startPictura } from '../support/pictura-process.js'

/**
 * The `pictura` client commands as a user runs them: child processes over
 * real HTTP against a real `pictura serve`, output piped (not a TTY).
 */

const ROOT = path.resolve(import.meta.dirname, '../..')
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

let t: TestEnv
let server: PicturaProcess
let proxy: http.Server
let proxyBase: string
let work: string
let token: string
let owner: PicturaClient
let wsId: string
/** The library to import: relative path -> bytes, and what each should end as. */
const library = new Map<string, { bytes: Buffer; kind: 'image' | 'corrupt' | 'other' }>()

before(async () => {
  t = await createTestEnv()
  server = await startPictura('serve', childEnv({ ...t.env, PORT: '0', HOST: '127.0.0.1' }))
  const admin = createClient({ baseUrl: server.base, token: t.adminToken })
  const user = await admin.users.create({ email: 'importer@localhost' })
  token = (await admin.tokens.create({ name: 'cli', userId: user.id })).token
  owner = createClient({ baseUrl: server.base, token })
  wsId = (await owner.workspaces.create({ name: 'Library' })).id
  // Uploads go through a proxy that holds each one back a little, so an import can be stopped half-way.
  proxy = http.createServer((req, res) => {
    const forward = () => {
      const upstream = http.request(
        `${server.base}${req.url}`,
        { method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        },
      )
      upstream.on('error', () => res.destroy())
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy()
      })
      req.pipe(upstream)
    }
    if (req.method === 'POST' && req.url?.startsWith('/api/files')) setTimeout(forward, 60)
    else forward()
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  proxyBase = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  work = mkdtempSync(path.join(tmpdir(), 'pictura-cli-client-'))
  await makeLibrary(path.join(work, 'library'))
})
after(async () => {
  proxy?.close()
  await server?.stop()
  await t?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** 60 files: 40 images of three formats, 8 corrupt images, 12 others, nested, with odd and clashing names. */
async function makeLibrary(root: string) {
  const put = (relative: string, bytes: Buffer, kind: 'image' | 'corrupt' | 'other') => {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true })
    writeFileSync(path.join(root, relative), bytes)
    library.set(relative, { bytes, kind })
  }
  const odd = [
    'été «odd» name.jpg',
    "it's #1 & 50% +.png",
    '-starts-with-dash.webp',
    'spaces  in  name .jpg',
    `${'long'.repeat(50)}.jpg`,
  ]
  for (let i = 0; i < 40; i++) {
    const format = (['jpeg', 'png', 'webp'] as const)[i % 3]!
    const image = sharp({
      create: {
        width: 24 + i,
        height: 16 + (i % 5),
        channels: 3,
        background: { r: i * 6, g: 255 - i * 6, b: 90 },
      },
    })
    const bytes = await image.toFormat(format).toBuffer()
    const dir = ['', 'trip/', 'trip/day 2/'][Math.floor(i / 3) % 3]!
    const ext = format === 'jpeg' ? 'jpg' : format
    // Two images share a name in different folders, two differ only by case: export must keep them apart.
    const clash: Record<number, string> = { 9: 'same.jpg', 12: 'same.jpg', 15: 'Photo.jpg', 18: 'photo.jpg' }
    const name = i < odd.length ? odd[i]! : (clash[i] ?? `img-${i}.${ext}`)
    put(`${dir}${name}`, bytes, 'image')
  }
  // JPEG headers over garbage: sniffed as images, never decoded.
  for (let i = 0; i < 8; i++) {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, i)])
    put(`${i < 4 ? '' : 'trip/'}broken-${i}.jpg`, bytes, 'corrupt')
  }
  for (let i = 0; i < 12; i++) {
    const bytes =
      i === 0
        ? Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
        : Buffer.from(`notes ${i}\n`.repeat(20 + i))
    put(i === 0 ? 'drawing.svg' : `docs/${i % 2 ? 'sub/' : ''}notes ${i}.txt`, bytes, 'other')
  }
  // Hidden: never imported.
  writeFileSync(path.join(root, '.DS_Store'), 'finder')
  mkdirSync(path.join(root, '.cache'))
  writeFileSync(path.join(root, '.cache', 'x.jpg'), 'hidden')
}

interface Run {
  proc: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function pictura(args: string[], env: Record<string, string> = {}, stdin?: string): Run {
  // Run from a folder of its own (as a user would): tsx is found from the checkout, not from there.
  const proc = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'src/main.ts'), ...args],
    {
      cwd: work,
      env: childEnv({ PICTURA_CONFIG_DIR: path.join(work, 'config'), ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  proc.stdout!.on('data', (d) => {
    out += d
  })
  proc.stderr!.on('data', (d) => {
    err += d
  })
  proc.stdin!.end(stdin)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, stdout: () => out, stderr: () => err, exited }
}

const asUser = () => ({ PICTURA_URL: proxyBase, PICTURA_TOKEN: token })

async function everyFile(): Promise<FileObject[]> {
  const files: FileObject[] = []
  for await (const f of owner.files.all({ workspaceId: wsId })) files.push(f)
  return files
}

/** `  ready        12` -> 12 */
const counted = (out: string, label: string) =>
  Number(new RegExp(`^  ${label}\\s+(\\d+)`, 'm').exec(out)?.[1])

/** Lines of a non-TTY run: events and the summary, no carriage returns or escape sequences. */
function assertLineBased(out: string) {
  assert.ok(!out.includes('\r') && !out.includes('\x1b'), 'no control characters when not on a TTY')
  const event = /^(uploaded|skipped|ready|failed|not image|stored|progress:|waiting:) /
  const summary = /^(Interrupted: )?\d+ files, |^ {2}\S|^Failed:$|^Run the same command again/
  for (const line of out.split('\n').filter(Boolean))
    assert.ok(event.test(line) || summary.test(line), `an unexpected line: ${JSON.stringify(line)}`)
}

test('import: stopped with Ctrl-C half-way, run again, every file is there exactly once', async () => {
  const args = ['import', 'library', '--workspace', wsId, '--concurrency', '2']
  const first = pictura(args, asUser())
  const deadline = Date.now() + 120_000
  while ((first.stdout().match(/^uploaded /gm)?.length ?? 0) < 20) {
    assert.ok(Date.now() < deadline && first.proc.exitCode === null, `${first.stdout()}\n${first.stderr()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  first.proc.kill('SIGINT')
  assert.equal(await first.exited, 130, first.stderr())
  assert.match(first.stdout(), /^Interrupted: 60 files/m)
  assert.match(first.stdout(), /^ {2}not done\s+\d+/m)
  assertLineBased(first.stdout())
  const afterFirst = await everyFile()
  assert.ok(
    afterFirst.length >= 20 && afterFirst.length < 60,
    `${afterFirst.length} files after the first run`,
  )

  const second = pictura(args, asUser())
  const code = await second.exited
  const out = second.stdout()
  assertLineBased(out)
  // The corrupt images fail to provision, so not everything went in: exit code 1.
  assert.equal(code, 1, `${out}\n${second.stderr()}`)
  assert.equal(counted(out, 'skipped'), afterFirst.length, out)
  assert.equal(out.match(/^skipped /gm)?.length, afterFirst.length)
  assert.equal(out.match(/^uploaded /gm)?.length, 60 - afterFirst.length)
  const byKind = (kind: string) => [...library.values()].filter((f) => f.kind === kind).length
  const skippedReady = afterFirst.filter(
    (f) => f.image.status === 'ready' || f.image.status === 'pending',
  ).length
  assert.equal(
    counted(out, 'ready') + counted(out, 'failed') + counted(out, 'not images'),
    60 - afterFirst.length,
  )
  assert.ok(
    counted(out, 'ready') <= byKind('image') && counted(out, 'ready') >= byKind('image') - skippedReady,
  )
  // Every corrupt file is listed with its reason, whichever run uploaded it.
  const failedBlock = out.slice(out.indexOf('\nFailed:\n'))
  for (const [relative, f] of library)
    if (f.kind === 'corrupt') assert.match(failedBlock, new RegExp(`^ {2}library/${relative}: .+`, 'm'), out)

  const files = await everyFile()
  assert.equal(files.length, 60)
  const remote = files.map((f) => f.sha256).sort()
  assert.deepEqual(remote, [...library.values()].map((f) => sha(f.bytes)).sort(), 'each file exactly once')
  assert.deepEqual(files.map((f) => f.name).sort(), [...library.keys()].map((k) => path.basename(k)).sort())
  const states = (kind: string) =>
    [...library.values()]
      .filter((f) => f.kind === kind)
      .map((f) => files.find((r) => r.sha256 === sha(f.bytes))!.image.status)
  assert.ok(
    states('image').every((s) => s === 'ready'),
    String(states('image')),
  )
  assert.ok(states('corrupt').every((s) => s === 'failed'))
  assert.ok(states('other').every((s) => s === 'none'))

  // A third run has nothing left to do.
  const third = pictura(args, asUser())
  assert.equal(await third.exited, 1)
  assert.equal(counted(third.stdout(), 'skipped'), 60)
  assert.doesNotMatch(third.stdout(), /^uploaded /m)
})

test('export: every original, byte for byte, under safe unique names; an interrupted file resumes', async () => {
  const out = path.join(work, 'exported')
  const run = pictura(['export', '--workspace', wsId, out], asUser())
  assert.equal(await run.exited, 0, `${run.stdout()}\n${run.stderr()}`)
  assert.equal(counted(run.stdout(), 'downloaded and verified'), 60, run.stdout())
  const names = readdirSync(out).filter((n) => !n.startsWith('.'))
  assert.equal(names.length, 60)
  const exported = new Map(names.map((n) => [sha(readFileSync(path.join(out, n))), n]))
  for (const [relative, f] of library) {
    const name = exported.get(sha(f.bytes))
    assert.ok(name, `${relative} was exported`)
    assert.ok(readFileSync(path.join(out, name)).equals(f.bytes), relative)
  }
  // Clashing names kept apart; names unsafe on some filesystem made safe.
  assert.deepEqual(names.filter((n) => n.startsWith('same')).sort(), ['same (2).jpg', 'same.jpg'])
  assert.equal(names.filter((n) => /^photo( \(2\))?\.jpg$/i.test(n)).length, 2, names.join(', '))
  assert.ok(names.includes("it's #1 & 50% +.png"))

  // Half a file left by an interruption, and the finished copy gone: the next run continues it with a Range.
  const victim = [...names].sort(
    (a, b) => statSync(path.join(out, b)).size - statSync(path.join(out, a)).size,
  )[0]!
  const whole = readFileSync(path.join(out, victim))
  unlinkSync(path.join(out, victim))
  writeFileSync(path.join(out, `.${victim}.part`), whole.subarray(0, whole.length >> 1))
  const again = pictura(['export', '--workspace', wsId, out], asUser())
  assert.equal(await again.exited, 0, again.stdout())
  assert.equal(counted(again.stdout(), 'downloaded and verified'), 1, again.stdout())
  assert.equal(counted(again.stdout(), 'already there'), 59)
  assert.ok(readFileSync(path.join(out, victim)).equals(whole))
  assert.equal(readdirSync(out).filter((n) => n.endsWith('.part')).length, 0)
})

test('login stores the URL and token for the user alone; images and files commands print tables or JSON', async () => {
  const login = pictura(['login', '--url', server.base], {}, `${token}\n`)
  assert.equal(await login.exited, 0, login.stderr())
  assert.match(login.stdout(), /Logged in to http:\/\/127\.0\.0\.1:\d+ as importer@localhost/)
  const stored = path.join(work, 'config', 'credentials.json')
  assert.equal(statSync(stored).mode & 0o777, 0o600)
  assert.equal(statSync(path.dirname(stored)).mode & 0o777, 0o700)
  assert.deepEqual(JSON.parse(readFileSync(stored, 'utf8')), { url: server.base, token })

  // From here on no --url, --token or PICTURA_*: the stored login answers.
  const json = pictura(['images', 'ls', '--workspace', wsId, '--all', '--json'])
  assert.equal(await json.exited, 0, json.stderr())
  const images = JSON.parse(json.stdout()) as { id: string; fileId: string }[]
  assert.equal(images.length, 40)

  const tableRun = pictura(['files', 'ls', '--workspace', wsId, '--limit', '5'])
  assert.equal(await tableRun.exited, 0)
  const lines = tableRun.stdout().trimEnd().split('\n')
  assert.match(lines[0]!, /^ID\s+NAME\s+TYPE\s+SIZE\s+IMAGE\s+CREATED$/)
  assert.equal(lines.length, 7)
  assert.match(lines[6]!, /^5 of 60 files/)
  const bySha = pictura(['files', 'ls', '--sha256', sha(library.get('drawing.svg')!.bytes), '--json'])
  assert.equal(await bySha.exited, 0)
  assert.deepEqual(
    (JSON.parse(bySha.stdout()) as FileObject[]).map((f) => f.name),
    ['drawing.svg'],
  )

  const get = pictura(['images', 'get', images[0]!.id])
  assert.equal(await get.exited, 0)
  assert.match(get.stdout(), new RegExp(`^id\\s+${images[0]!.id}$`, 'm'))
  assert.match(get.stdout(), /^url\s+http:\/\/.+\/cdn\/\w+\/public$/m)
  const rm = pictura(['images', 'rm', images[0]!.id, '--json'])
  assert.equal(await rm.exited, 0)
  assert.deepEqual(JSON.parse(rm.stdout()), { deleted: [images[0]!.id], failed: [] })
  const rmAgain = pictura(['images', 'rm', images[0]!.id])
  assert.equal(await rmAgain.exited, 1)
  assert.match(rmAgain.stderr(), /not found/i)
  assert.equal((await owner.files.get(images[0]!.fileId)).image.status, 'deleted')
})

test('usage errors exit 2 with the usage; a refused token exits 1', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['import', 'library'], asUser(), /--workspace is required/],
    [['import', 'nowhere', '--workspace', wsId], asUser(), /nowhere: no such file or folder/],
    [['import', 'library', '--workspace', 'ws_00000000000000000000000000'], asUser(), /not found/],
    [['files', 'ls', '--bogus'], asUser(), /Unknown option '--bogus'/],
    [['export', '--workspace', wsId], asUser(), /Name one folder/],
    [['images', 'ls'], { PICTURA_CONFIG_DIR: path.join(work, 'nobody') }, /pictura login/],
  ]
  const runs = cases.map(([args, env]) => pictura(args, env))
  for (const [i, run] of runs.entries()) {
    assert.equal(await run.exited, 2, `${cases[i]![0].join(' ')}: ${run.stderr()}`)
    assert.match(run.stderr(), cases[i]![2])
    assert.match(run.stderr(), /Usage: pictura /)
  }
  const refused = pictura(['images', 'ls'], {
    PICTURA_URL: server.base,
    PICTURA_TOKEN: 'pic_not-valid-at-all',
  })
  assert.equal(await refused.exited, 1)
  assert.match(refused.stderr(), /401 unauthorized/)
})
