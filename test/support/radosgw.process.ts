/**
 * A real S3 server for the tests, run as its own process by s3-server.ts: a
 * one-node Ceph cluster (one monitor, one OSD keeping its objects in memory)
 * and its S3 gateway, radosgw, on loopback, all from Debian's packages
 * (ceph-mon, ceph-osd, radosgw), in a fresh temporary folder, without systemd.
 *
 * Cephx between the Ceph daemons is off (`auth … required = none`): it guards
 * the cluster's own network, not S3. radosgw still checks every S3 request's
 * SigV4 signature against the user made here.
 *
 * Prints one JSON line when the gateway answers and its user exists:
 * `{"endpoint","accessKeyId","secretAccessKey","conf","startMs"}`. Then reads
 * commands, one JSON line each on stdin, and answers each with one line:
 * `{"op":"gateway"}` starts another gateway on the same cluster (so a test may
 * stop or freeze it without touching the others) and answers
 * `{"endpoint","pid"}`. When stdin ends (the test process exited, however it
 * exited) every daemon is killed and the folder removed, so nothing outlives
 * a test run.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

const run = promisify(execFile)
const begun = Date.now()
const dir = mkdtempSync(path.join(tmpdir(), 'pictura-radosgw-'))
const conf = path.join(dir, 'ceph.conf')
const daemons: ChildProcess[] = []
let stopping = false

function stop(code: number): never {
  stopping = true
  // The data is thrown away: no daemon needs a clean shutdown (the OSD would write its memory out).
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  process.exit(code)
}

function fail(message: string): never {
  process.stderr.write(`radosgw test server: ${message}\n${logTails()}\n`)
  stop(1)
}

function logTails(): string {
  const logs = path.join(dir, 'log')
  const names = ['mon.a.log', 'osd.0.log', 'client.rgw.log']
  return names
    .map((name) => {
      try {
        return `--- ${name}\n${readFileSync(path.join(logs, name), 'utf8').split('\n').slice(-15).join('\n')}`
      } catch {
        return `--- ${name}: none`
      }
    })
    .join('\n')
}

async function ceph(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, ['-c', conf, ...args], { timeout: 60_000 })).stdout
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    fail(`${command} ${args.join(' ')} failed: ${e.stderr || e.message}`)
  }
}

function daemon(command: string, args: string[]): ChildProcess {
  // -f: in the foreground (a child of this process), logging to its file.
  const child = spawn(command, ['-f', '-c', conf, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000)
  })
  child.once('exit', (code, signal) => {
    if (!stopping && !child.killed) fail(`${command} ${args.join(' ')} exited (${code ?? signal}): ${err}`)
  })
  daemons.push(child)
  return child
}

async function answers(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      // An anonymous ListBuckets: 200 once the gateway serves.
      if ((await fetch(endpoint)).ok) return
    } catch {}
    if (Date.now() > deadline) fail(`the gateway at ${endpoint} did not answer within ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** Gateway options, the same for every gateway: those a test relies on and none that an operator would not set. */
const gatewayArgs = (name: string, port: number) => [
  '-n',
  `client.${name}`,
  '--rgw-frontends',
  `beast endpoint=127.0.0.1:${port}`,
]

const monPort = await freePort()
const gatewayPort = await freePort()
const fsid = randomUUID()
for (const sub of ['mon', 'osd', 'run', 'log']) mkdirSync(path.join(dir, sub))
writeFileSync(
  conf,
  `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
auth cluster required = none
auth service required = none
auth client required = none
# Without cephx only the crc connection mode exists (radosgw asks the monitor for secure alone otherwise).
ms mon client mode = crc secure
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
mon data = ${dir}/mon
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
# The monitor batches map changes once a second by default; radosgw makes its pools one after another.
paxos propose interval = 0.05
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd data = ${dir}/osd
osd objectstore = memstore
memstore device bytes = 8589934592

[client]
# Bucket statistics and quotas are read at every write, so a quota holds from the request after it is set.
rgw bucket quota ttl = 0
rgw user quota bucket sync interval = 0
rgw user quota sync interval = 0
rgw enable usage log = false
`,
)

const monmap = path.join(dir, 'monmap')
await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap])
await ceph('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap])
daemon('ceph-mon', ['-i', 'a'])
const osdId = (await ceph('ceph', ['--connect-timeout', '30', 'osd', 'create'])).trim()
if (osdId !== '0') fail(`the new OSD got id ${osdId}, not 0`)
await ceph('ceph-osd', ['-i', '0', '--mkfs'])
daemon('ceph-osd', ['-i', '0'])
const endpoint = `http://127.0.0.1:${gatewayPort}`
daemon('radosgw', gatewayArgs('rgw', gatewayPort))
await answers(endpoint, 120_000)

const accessKeyId = `PICTURA${randomBytes(8).toString('hex').toUpperCase()}`
const secretAccessKey = randomBytes(30).toString('base64url')
await ceph('radosgw-admin', [
  'user',
  'create',
  '--uid',
  'pictura-test',
  '--display-name',
  'Pictura tests',
  '--access-key',
  accessKeyId,
  '--secret-key',
  secretAccessKey,
])

process.stdout.write(
  `${JSON.stringify({ endpoint, accessKeyId, secretAccessKey, conf, startMs: Date.now() - begun })}\n`,
)

let gateways = 0
const commands = createInterface({ input: process.stdin })
commands.on('line', async (line) => {
  const command = JSON.parse(line) as { op: string }
  if (command.op !== 'gateway') fail(`unknown command ${line}`)
  const port = await freePort()
  const gateway = daemon('radosgw', gatewayArgs(`rgw${++gateways}`, port))
  // A test may kill this one: that is not a failure of the server.
  gateway.removeAllListeners('exit')
  await answers(`http://127.0.0.1:${port}`, 60_000)
  process.stdout.write(`${JSON.stringify({ endpoint: `http://127.0.0.1:${port}`, pid: gateway.pid })}\n`)
})
commands.on('close', () => stop(0))
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(0))
