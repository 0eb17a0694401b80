import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3'
import type { S3Config } from '../../src/config.js'
import { createS3Client } from '../../src/platform/blob-store/s3-blob-store.js'

/**
 * An S3-compatible server on loopback for the tests (see s3-server.process.ts),
 * started by `npm ci` alone: no Docker, no binary download.
 */
export interface S3TestServer {
  readonly endpoint: string
  /** A connection to `bucket` on this server; the server accepts any credentials. */
  connection(bucket: string): S3Config
  /** BLOB_STORE=s3 variables for createTestEnv, on `bucket`. */
  env(bucket: string): Record<string, string>
  /** A client for `bucket`, which is created if absent. */
  clientFor(bucket: string): Promise<S3Client>
  stop(): Promise<void>
}

export const uniqueBucket = () => `pictura-test-${randomBytes(4).toString('hex')}`

export async function startS3Server(): Promise<S3TestServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 's3-server.process.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const endpoint = await firstLine(child)
  const connection = (bucket: string): S3Config => ({
    endpoint,
    region: 'us-east-1',
    bucket,
    accessKeyId: 'test',
    secretAccessKey: 'test-secret',
    forcePathStyle: true,
  })
  return {
    endpoint,
    connection,
    env: (bucket) => ({
      BLOB_STORE: 's3',
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: 'test',
      S3_SECRET_ACCESS_KEY: 'test-secret',
      S3_FORCE_PATH_STYLE: 'true',
    }),
    clientFor: async (bucket) => {
      const client = createS3Client(connection(bucket))
      await ensureBucket(client, bucket)
      return client
    },
    stop: async () => {
      if (child.exitCode !== null) return
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

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => fail(new Error('S3 test server did not start within 30 s')), 30_000)
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill()
      reject(err)
    }
    child.once('exit', (code) => fail(new Error(`S3 test server exited with ${code} before it listened`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const nl = out.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve(out.slice(0, nl).trim())
    })
  })
}
