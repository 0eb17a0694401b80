import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3'
import type { S3Config } from '../../src/config.js'
import { createS3Client } from '../../src/platform/blob-store/s3-blob-store.js'

/**
 * The S3 server the tests talk to, on loopback, started by the test file that
 * needs it and stopped with it (each test isolates itself in a bucket or a
 * folder of its own):
 *
 * - `radosgw`: a real one, Ceph's S3 gateway on a one-node Ceph cluster
 *   (radosgw.process.ts), from Debian's packages `ceph-mon ceph-osd radosgw`.
 *   It checks SigV4 signatures, enforces S3's part sizes and quotas and
 *   answers with its own error shapes. CI installs it and runs on it.
 * - `fauxqs`: a JavaScript fake (s3-server.process.ts) that `npm ci` brings,
 *   for a quick local run without the packages. It forgives what real servers
 *   do not, so it proves nothing about them.
 *
 * `PICTURA_TEST_S3=real|fake` chooses; unset, the real server runs when its
 * programs are installed and the fake otherwise, saying so, except under CI
 * (`CI=true`), where missing programs fail the run.
 */
export type S3ServerKind = 'radosgw' | 'fauxqs'

export interface S3TestServer {
  readonly kind: S3ServerKind
  readonly endpoint: string
  /** A connection to `bucket` on this server, with its test user's keys. */
  connection(bucket: string): S3Config
  /** BLOB_STORE=s3 variables for createTestEnv or a child process, on `bucket`. */
  env(bucket: string): Record<string, string>
  /** A client for `bucket`, which is created if absent. */
  clientFor(bucket: string): Promise<S3Client>
  /** What only the real server can do; null on the fake. */
  readonly real: RealS3Controls | null
  stop(): Promise<void>
}

export interface RealS3Controls {
  /** Milliseconds from launch until the gateway answered with its user made. */
  readonly startMs: number
  /** Sets and enables a bucket quota (radosgw-admin), as an operator caps a tenant. */
  limitBucket(bucket: string, maxBytes: number): Promise<void>
  /** Another gateway on the same cluster, for a test to kill or freeze (SIGSTOP) by its pid. */
  gateway(): Promise<{ endpoint: string; pid: number }>
}

const REAL_PROGRAMS = ['monmaptool', 'ceph-mon', 'ceph-osd', 'ceph', 'radosgw', 'radosgw-admin']
export const REAL_PACKAGES = 'ceph-mon ceph-osd radosgw'

export const uniqueBucket = () => `pictura-test-${randomBytes(4).toString('hex')}`

/** Which server startS3Server() runs here, and why. */
export function chosenS3Server(env = process.env): { kind: S3ServerKind; why: string } {
  const wanted = env.PICTURA_TEST_S3 ?? ''
  if (!['', 'real', 'fake'].includes(wanted)) throw new Error(`PICTURA_TEST_S3="${wanted}": use real or fake`)
  if (wanted === 'fake') return { kind: 'fauxqs', why: 'PICTURA_TEST_S3=fake' }
  const missing = REAL_PROGRAMS.filter((p) => !onPath(p, env.PATH ?? ''))
  if (missing.length === 0) return { kind: 'radosgw', why: 'its programs are installed' }
  const install = `missing ${missing.join(', ')}: apt-get install -y --no-install-recommends ${REAL_PACKAGES}`
  if (wanted === 'real' || env.CI === 'true') {
    throw new Error(
      `The real S3 server (radosgw) is required (${wanted ? 'PICTURA_TEST_S3=real' : 'CI'}); ${install}`,
    )
  }
  return { kind: 'fauxqs', why: `${install} (or set PICTURA_TEST_S3=real to require it)` }
}

export async function startS3Server(): Promise<S3TestServer> {
  const { kind, why } = chosenS3Server()
  if (kind === 'fauxqs') {
    process.stderr.write(
      `# S3 tests run on fauxqs, a fake that proves nothing about real S3 servers: ${why}\n`,
    )
    return startFake()
  }
  return startRadosgw()
}

async function startRadosgw(): Promise<S3TestServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'radosgw.process.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const lines = lineReader(child, 'radosgw test server', 180_000)
  const ready = JSON.parse(await lines.next()) as {
    endpoint: string
    accessKeyId: string
    secretAccessKey: string
    conf: string
    startMs: number
  }
  const admin = async (...args: string[]) => {
    await promisify(execFile)('radosgw-admin', ['-c', ready.conf, ...args], { timeout: 60_000 })
  }
  let commands = Promise.resolve()
  return server('radosgw', ready.endpoint, ready, child, {
    startMs: ready.startMs,
    limitBucket: async (bucket, maxBytes) => {
      await admin('quota', 'set', '--quota-scope=bucket', `--bucket=${bucket}`, `--max-size=${maxBytes}`)
      await admin('quota', 'enable', '--quota-scope=bucket', `--bucket=${bucket}`)
    },
    gateway: () => {
      // One command at a time: each answer is the next line.
      const answer = commands.then(async () => {
        child.stdin?.write(`${JSON.stringify({ op: 'gateway' })}\n`)
        return JSON.parse(await lines.next(60_000)) as { endpoint: string; pid: number }
      })
      commands = answer.then(
        () => {},
        () => {},
      )
      return answer
    },
  })
}

async function startFake(): Promise<S3TestServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 's3-server.process.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const endpoint = await lineReader(child, 'S3 test server (fauxqs)', 30_000).next()
  // fauxqs accepts any keys.
  return server('fauxqs', endpoint, { accessKeyId: 'test', secretAccessKey: 'test-secret' }, child, null)
}

function server(
  kind: S3ServerKind,
  endpoint: string,
  keys: { accessKeyId: string; secretAccessKey: string },
  child: ChildProcess,
  real: RealS3Controls | null,
): S3TestServer {
  const connection = (bucket: string): S3Config => ({
    endpoint,
    region: 'us-east-1',
    bucket,
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    forcePathStyle: true,
  })
  return {
    kind,
    endpoint,
    connection,
    env: (bucket) => ({
      BLOB_STORE: 's3',
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: keys.accessKeyId,
      S3_SECRET_ACCESS_KEY: keys.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    }),
    clientFor: async (bucket) => {
      const client = createS3Client(connection(bucket))
      await ensureBucket(client, bucket)
      return client
    },
    real,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin?.end()
      await exited
    },
  }
}

export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
  }
}

/** The child's stdout as a queue of lines; a line not there in time, or the child's exit, fails the read. */
function lineReader(child: ChildProcess, name: string, firstTimeoutMs: number) {
  const queued: string[] = []
  const waiting: ((line: string | Error) => void)[] = []
  let ended: Error | null = null
  const deliver = (line: string | Error) => {
    const next = waiting.shift()
    if (next) next(line)
    else if (typeof line === 'string') queued.push(line)
  }
  if (!child.stdout) throw new Error(`${name} has no stdout`)
  createInterface({ input: child.stdout }).on('line', (line) => deliver(line.trim()))
  child.once('exit', (code, signal) => {
    ended = new Error(`${name} exited (${code ?? signal})`)
    while (waiting.length > 0) deliver(ended)
  })
  let first = true
  return {
    next(timeoutMs = firstTimeoutMs): Promise<string> {
      const limit = first ? firstTimeoutMs : timeoutMs
      first = false
      const line = queued.shift()
      if (line !== undefined) return Promise.resolve(line)
      if (ended) return Promise.reject(ended)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill()
          reject(new Error(`${name} did not answer within ${limit} ms`))
        }, limit)
        waiting.push((got) => {
          clearTimeout(timer)
          if (got instanceof Error) reject(got)
          else resolve(got)
        })
      })
    },
  }
}

function onPath(program: string, searchPath: string): boolean {
  return searchPath
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(path.join(dir, program), constants.X_OK)
        return true
      } catch {
        return false
      }
    })
}
