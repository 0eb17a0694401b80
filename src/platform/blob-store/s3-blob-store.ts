import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
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
import type { BlobStore, PutResult } from './blob-store.js'
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

export function createS3Client(c: S3Config): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    forcePathStyle: c.forcePathStyle,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    // Many S3-compatible servers reject the SDK's default trailing CRC32 checksums; put() hashes the bytes itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
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
    if (uploadFailure !== null) throw uploadFailure
    if (feedFailure !== null) {
      // The source failed after its last byte was uploaded: the put still fails, so nothing may stay.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }))
      throw feedFailure
    }
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
      throw err
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
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }))
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!PREFIX.test(prefix)) throw new AppError('internal', `Invalid blob prefix: ${JSON.stringify(prefix)}`)
    let token: string | undefined
    do {
      // A page holds at most 1000 keys, which is also DeleteObjects' batch limit.
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken: token,
          MaxKeys: 1000,
        }),
      )
      const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []))
      if (objects.length > 0) {
        const out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }),
        )
        const failed = out.Errors ?? []
        if (failed.length > 0) {
          const first = failed[0]
          throw new Error(
            `S3 could not delete ${failed.length} object(s) under ${prefix}: ${first?.Key} ${first?.Code} ${first?.Message}`,
          )
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async cleanup(): Promise<number> {
    const cutoff = Date.now() - this.staleUploadMs
    let removed = 0
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix || undefined,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
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
          if (errorName(err) !== 'NoSuchUpload') throw err
        }
      }
      if (!page.IsTruncated) return removed
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
    }
  }

  private objectKey(key: string): string {
    if (!KEY.test(key)) throw new AppError('internal', `Invalid blob key: ${JSON.stringify(key)}`)
    return this.prefix + key
  }
}

const errorName = (err: unknown): string | undefined => (err instanceof Error ? err.name : undefined)

const httpStatus = (err: unknown): number | undefined =>
  (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode
