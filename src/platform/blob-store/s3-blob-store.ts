import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  type _Object,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { S3Config } from '../../config.js'
import { AppError, errors } from '../../shared/errors.js'
import type { BlobEntry, BlobStore, PutResult } from './blob-store.js'
import { Meter } from './meter.js'

// The same key grammar as the file-system store, so a key valid on one is valid on the other.
const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/
const PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]*)*$/
const MiB = 1024 * 1024
/** Above S3's 5 MiB minimum part; larger when the cap needs it, as an upload has at most 10,000 parts. */
const PART_SIZE = 8 * MiB
const MAX_PARTS = 10_000
/** An unfinished multipart upload younger than this may belong to a live writer on another node. */
const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000

export interface S3BlobStoreOptions {
  /** Every object key starts with it (a folder in a shared bucket); '' for the whole bucket. */
  prefix?: string
  /** Parts in flight at once; a put holds about (queueSize + 2) parts in memory. */
  queueSize?: number
  staleUploadMs?: number
}

export interface S3ClientTimeouts {
  /** To open a connection (default 5 s). */
  connectMs?: number
  /**
   * From sending a request until its answer starts, the request's body
   * included (default 30 s; a part is at most a few MiB). A hung server
   * accepts connections and never answers: without it, every request waits
   * forever. A download's body streams at its reader's pace, without a limit.
   */
  answerMs?: number
}

export function createS3Client(c: S3Config, timeouts: S3ClientTimeouts = {}): S3Client {
  const client = new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: c.forcePathStyle,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    // The SDK's default sends a streamed body as aws-chunked with a trailing CRC32, which radosgw (Ceph 16)
    // refuses (411 MissingContentLength) as do other S3-compatible servers; put() hashes the bytes itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: timeouts.connectMs ?? 5_000,
      requestTimeout: timeouts.answerMs ?? 30_000,
      throwOnRequestTimeout: true,
    },
  })
  // S3 requires Content-MD5 on DeleteObjects, and so do OpenStack Swift's s3api and other servers ("Missing
  // required header for this request: Content-MD5"); with checksums only where required the SDK sends a CRC32
  // header instead. The body is a small XML document: it is hashed here.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        request?.headers &&
        typeof request.body === 'string'
      ) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64')
      }
      return next(args)
    },
    { step: 'build', name: 'picturaDeleteObjectsContentMd5' },
  )
  return client
}

/**
 * Blobs as objects in one S3 bucket. A put streams through a bounded multipart
 * upload (or one PutObject when it fits in a part); S3 makes the object visible
 * only when the upload completes, so a failed or interrupted put never shows a
 * partial blob. What an interrupted put leaves is an unfinished multipart
 * upload, which cleanup() aborts once it is old enough to have no live writer.
 */
export class S3BlobStore implements BlobStore {
  private readonly prefix: string
  private readonly queueSize: number
  private readonly staleUploadMs: number

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    options: S3BlobStoreOptions = {},
  ) {
    const prefix = options.prefix ?? ''
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`
    this.queueSize = options.queueSize ?? 2
    this.staleUploadMs = options.staleUploadMs ?? STALE_UPLOAD_MS
  }

  async put(key: string, source: Readable, options: { maxBytes: number }): Promise<PutResult> {
    const objectKey = this.objectKey(key)
    const meter = new Meter(options.maxBytes)
    // Settled at once into a value, so its failure is never an unhandled rejection while the upload runs.
    const feeding = pipeline(source, meter).then(
      () => null,
      (err: unknown) => err ?? new Error('Upload source failed'),
    )
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: meter, ContentType: 'application/octet-stream' },
      partSize: Math.max(PART_SIZE, Math.ceil(options.maxBytes / MAX_PARTS)),
      queueSize: this.queueSize,
      // On any failure the upload is aborted before done() rejects, so no parts are left behind.
      leavePartsOnError: false,
    })
    const uploadFailure = await upload.done().then(
      () => null,
      (err: unknown) => err ?? new Error('S3 upload failed'),
    )
    // S3 stopped reading: release the source instead of leaving it paused forever.
    if (uploadFailure !== null) meter.destroy()
    const feedFailure = await feeding
    if (meter.exceeded) throw errors.tooLarge(options.maxBytes)
    // The source's own failure (a client that went away) also fails the upload, which reads it: it is the cause.
    // When the store failed, the source only saw its reader go away (lib-storage stops iterating the meter, which
    // destroys it with an AbortError, before done() rejects with the store's answer).
    if (feedFailure !== null && (uploadFailure === null || !readerWentAway(feedFailure))) {
      // The source failed after its last byte was uploaded: the put still fails, so nothing may stay.
      if (uploadFailure === null)
        await this.send(() =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })),
        )
      throw feedFailure
    }
    if (uploadFailure !== null) throw storeFailure(uploadFailure)
    return { size: meter.count, sha256: meter.digest() }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      )
      // On Node the SDK hands over the HTTP response itself: a Readable that the caller consumes or destroys.
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned no stream body')
      return out.Body
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') throw errors.notFound('blob')
      // A range wholly past the end reads nothing, as reading past the end of a file does.
      if (errorName(err) === 'InvalidRange') return Readable.from([])
      throw storeFailure(err)
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      )
      return { size: out.ContentLength ?? 0 }
    } catch (err) {
      // HEAD answers carry no body, so a missing key surfaces only as a bare 404.
      if (errorName(err) === 'NotFound' || httpStatus(err) === 404) return null
      throw storeFailure(err)
    }
  }

  async delete(key: string): Promise<void> {
    await this.send(() =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })),
    )
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!PREFIX.test(prefix)) throw new AppError('internal', `Invalid blob prefix: ${JSON.stringify(prefix)}`)
    // A page holds at most 1000 keys, which is also DeleteObjects' batch limit.
    for await (const page of this.pages(this.prefix + prefix)) {
      const objects = page.flatMap((o) => (o.Key ? [{ Key: o.Key }] : []))
      if (objects.length === 0) continue
      const out = await this.send(() =>
        this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }),
        ),
      )
      const failed = out.Errors ?? []
      if (failed.length > 0) {
        const first = failed[0]
        throw storeFailure(
          new Error(
            `S3 could not delete ${failed.length} object(s) under ${prefix}: ${first?.Key} ${first?.Code} ${first?.Message}`,
          ),
        )
      }
    }
  }

  async cleanup(): Promise<number> {
    const cutoff = Date.now() - this.staleUploadMs
    let removed = 0
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await this.send(() =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      )
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue
        if (u.Initiated && u.Initiated.getTime() > cutoff) continue
        try {
          await this.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }),
          )
          removed++
        } catch (err) {
          // Another node's clean-up, or its writer finishing, got there first.
          if (errorName(err) !== 'NoSuchUpload') throw storeFailure(err)
        }
      }
      if (!page.IsTruncated) return removed
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
    }
  }

  async *list(): AsyncIterable<BlobEntry> {
    for await (const page of this.pages(this.prefix)) {
      for (const o of page) {
        const key = o.Key?.slice(this.prefix.length)
        // Only keys of ours: other objects sharing the bucket (or prefix) are no blobs of this store.
        if (key && o.Key?.startsWith(this.prefix) && KEY.test(key))
          yield { key, modifiedAt: o.LastModified?.getTime() ?? Date.now() }
      }
    }
  }

  /** The objects under `prefix` (a bucket-wide key prefix), a listing page (at most 1000) at a time. */
  private async *pages(prefix: string): AsyncIterable<_Object[]> {
    let token: string | undefined
    do {
      const page = await this.send(() =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            ContinuationToken: token,
            MaxKeys: 1000,
          }),
        ),
      )
      yield page.Contents ?? []
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  /** One request to the store, whose failures answer as the store's (see storeFailure). */
  private async send<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request()
    } catch (err) {
      throw storeFailure(err)
    }
  }

  private objectKey(key: string): string {
    if (!KEY.test(key)) throw new AppError('internal', `Invalid blob key: ${JSON.stringify(key)}`)
    return this.prefix + key
  }
}

const errorName = (err: unknown): string | undefined => (err instanceof Error ? err.name : undefined)

/** What S3-compatible servers answer when a bucket, a user or the cluster is out of room. */
const FULL = new Set(['QuotaExceeded', 'InsufficientStorage', 'XMinioStorageFull', 'StorageFull'])

/**
 * A failure of the store, or of the way to it, as the API answers it (never a
 * 500): a full store or an exceeded quota is `insufficient_storage` (507);
 * anything else it answers (5xx, SlowDown, but also AccessDenied, a bad
 * signature or a missing bucket: the deployment's keys or bucket, which no
 * client can fix) or no answer at all (refused, reset, timed out) is
 * `unavailable` (503). The S3 error stays as the cause, for the log.
 */
export function storeFailure(err: unknown): unknown {
  if (err instanceof AppError) return err
  const name = errorName(err) ?? ''
  if (FULL.has(name) || httpStatus(err) === 507) {
    return errors.insufficientStorage('The object store is full', err)
  }
  return errors.unavailable('The object store is unavailable; try again later', err)
}

const readerWentAway = (err: unknown) =>
  errorName(err) === 'AbortError' || (err as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE'

const httpStatus = (err: unknown): number | undefined =>
  (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode
