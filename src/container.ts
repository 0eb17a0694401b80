import path from 'node:path'
import type { Config } from './config.js'
import { RateLimiter, ReadCache } from './features/auth/admission.js'
import { TokensService } from './features/auth/tokens.service.js'
import { UsersService } from './features/auth/users.service.js'
import { DeliveryService } from './features/delivery/delivery.service.js'
import { VariantCache } from './features/delivery/variant-cache.js'
import { blobDeleteHandler } from './features/files/files.jobs.js'
import { FilesService } from './features/files/files.service.js'
import { ImagesService } from './features/images/images.service.js'
import {
  providerDeleteHandler,
  provisionFailureHook,
  provisionHandler,
} from './features/images/provision.job.js'
import { Access } from './features/workspaces/access.js'
import { WorkspacesService } from './features/workspaces/workspaces.service.js'
import { CursorCodec } from './http/pagination.js'
import type { BlobStore } from './platform/blob-store/blob-store.js'
import { FsBlobStore } from './platform/blob-store/fs-blob-store.js'
import { RecentBlobs } from './platform/blob-store/recent-blobs.js'
import { type DatabaseHandle, type Db, migrateToLatest, openDatabase } from './platform/db/database.js'
import { deploymentSecret } from './platform/db/settings.js'
import { waitForDatabase } from './platform/db/startup.js'
import { CloudflareImageProvider } from './platform/image-provider/cloudflare-image-provider.js'
import { boundImageMemory } from './platform/image-provider/image-memory.js'
import type { ImageProvider } from './platform/image-provider/image-provider.js'
import { LocalImageProvider } from './platform/image-provider/local-image-provider.js'
import { DbJobQueue } from './platform/jobs/db-job-queue.js'
import { type JobHandler, JobKinds } from './platform/jobs/job-queue.js'
import type { JobFailureHook } from './platform/jobs/worker.js'
import { type Clock, systemClock } from './shared/clock.js'
import type { Logger } from './shared/logger.js'

/** The composition root: picks adapters from config and wires each service with the narrow deps it needs. */
export interface Container {
  readonly config: Config
  readonly log: Logger
  readonly database: DatabaseHandle
  readonly db: Db
  readonly clock: Clock
  readonly cursors: CursorCodec
  readonly access: Access
  /** Tokens and roles kept in memory until anything is written; each request takes a snapshot. */
  readonly reads: ReadCache
  readonly rateLimiter: RateLimiter
  readonly queue: DbJobQueue
  /** Original bytes; `cleanup()` runs once at server start (main.ts), not here: CLI commands build a container too. */
  readonly blobs: BlobStore
  /** Job kind -> handler; features add theirs here, workers run them. */
  readonly jobHandlers: Map<string, JobHandler>
  /** Job kind -> what to record when one of its jobs fails for good (a file's image error). */
  readonly jobFailureHooks: Map<string, JobFailureHook>
  /** Where images are provisioned and delivered from (config.imageProvider). */
  readonly provider: ImageProvider
  /** The local provider's /cdn variants (renders, cache); present whatever the provider, for old local images. */
  readonly delivery: DeliveryService
  readonly users: UsersService
  readonly tokens: TokensService
  readonly workspaces: WorkspacesService
  readonly files: FilesService
  readonly images: ImagesService
  close(): Promise<void>
}

export async function createContainer(
  config: Config,
  log: Logger,
  options: { migrate?: boolean; clock?: Clock; waitForDatabase?: boolean } = {},
): Promise<Container> {
  boundImageMemory()
  const timeouts = {
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  }
  // `serve` and `worker` wait for a database that is not up yet; other commands fail at once.
  if (options.waitForDatabase)
    await waitForDatabase(config.db, { ...timeouts, maxWaitMs: config.dbStartupWaitMs, log })
  if (options.migrate !== false) {
    // Apart, without the statement timeout: a migration may rightly take longer than a request's statement.
    const migrator = openDatabase(config.db, { poolSize: 1, connectTimeoutMs: config.dbConnectTimeoutMs })
    try {
      const applied = await migrateToLatest(migrator.db)
      if (applied.length > 0) log.info({ migrations: applied }, 'database migrated')
    } finally {
      await migrator.destroy()
    }
  }
  const database = openDatabase(config.db, { ...timeouts, log })
  const { db } = database
  const clock = options.clock ?? systemClock
  const cursors = new CursorCodec(await deploymentSecret(db, 'cursor_secret'))
  // The reads every request makes (its token, its roles), kept until anything is written.
  const reads = new ReadCache(database.version)
  const access = new Access(db)
  const queue = new DbJobQueue(db, database.capabilities)
  const jobHandlers = new Map<string, JobHandler>()
  const base = { db, clock }
  const blobs: BlobStore = new RecentBlobs(
    config.s3 ? await openS3(config.s3) : new FsBlobStore(path.join(config.dataDir, 'blobs')),
  )
  const files = new FilesService({
    db,
    capabilities: database.capabilities,
    blobs,
    queue,
    access,
    clock,
    log,
    maxUploadBytes: config.maxUploadBytes,
  })
  jobHandlers.set(JobKinds.blobDelete, blobDeleteHandler(blobs))
  const jobFailureHooks = new Map<string, JobFailureHook>()
  const variantCache = new VariantCache(path.join(config.dataDir, 'cache'), config.variantCacheBytes, log)
  // Keys the providers' image ids (HMAC of our image id), the same on every node.
  const idSecret = await deploymentSecret(db, 'provider_id_secret')
  const local = new LocalImageProvider({ publicUrl: config.publicUrl, idSecret, variants: variantCache })
  const provider: ImageProvider = config.cloudflare
    ? new CloudflareImageProvider({ config: config.cloudflare, blobs, idSecret, log })
    : local
  const delivery = new DeliveryService({
    db,
    blobs,
    cache: variantCache,
    log,
    maxImagePixels: config.maxImagePixels,
  })
  jobHandlers.set(
    JobKinds.provision,
    provisionHandler({
      db,
      capabilities: database.capabilities,
      queue,
      blobs,
      provider,
      log,
      maxImagePixels: config.maxImagePixels,
      now: () => clock.now().getTime(),
    }),
  )
  jobFailureHooks.set(JobKinds.provision, provisionFailureHook(db))
  // Images provisioned under another provider keep their copies there: each row is served and deleted by its own.
  const providers = new Map<string, ImageProvider>([
    [local.name, local],
    [provider.name, provider],
  ])
  jobHandlers.set(JobKinds.providerDelete, providerDeleteHandler(providers))

  return {
    config,
    log,
    database,
    db,
    clock,
    cursors,
    access,
    rateLimiter: new RateLimiter(config.rateLimitPerMinute),
    queue,
    blobs,
    jobHandlers,
    jobFailureHooks,
    provider,
    delivery,
    users: new UsersService(base),
    reads,
    tokens: new TokensService(base),
    workspaces: new WorkspacesService({ ...base, access, purge: (trx, id) => files.purgeWorkspace(trx, id) }),
    files,
    images: new ImagesService({
      db,
      access,
      queue,
      exifGps: config.exifGps,
      // Images of a provider no longer configured keep their path, below the configured provider's base.
      deliveryBase: (name) => (providers.get(name) ?? provider).deliveryBase,
    }),
    close: () => database.destroy(),
  }
}

/** The S3 store, its SDK loaded only when configured: it is the largest module the server could load (~10 MiB). */
async function openS3(s3: NonNullable<Config['s3']>): Promise<BlobStore> {
  const { createS3Client, S3BlobStore } = await import('./platform/blob-store/s3-blob-store.js')
  return new S3BlobStore(createS3Client(s3), s3.bucket)
}
