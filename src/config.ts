import path from 'node:path'

export type DbConfig = { driver: 'sqlite'; file: string } | { driver: 'postgres'; url: string }
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** Cloudflare Images credentials; `accountHash` (delivery) is a different value from `accountId` (API). */
export interface CloudflareConfig {
  readonly accountId: string
  readonly accountHash: string
  readonly apiToken: string
  readonly apiBase: string
}

/** An S3-compatible bucket (AWS S3, MinIO, R2, …) holding the original bytes when BLOB_STORE=s3. */
export interface S3Config {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** Bucket in the path (http://host/bucket/key) rather than the host name, as MinIO and most self-hosted servers need. */
  readonly forcePathStyle: boolean
}

export interface Config {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly db: DbConfig
  readonly publicUrl: string
  readonly maxUploadBytes: number
  readonly imageProvider: 'local' | 'cloudflare'
  /** Set exactly when `imageProvider` is `cloudflare`. */
  readonly cloudflare: CloudflareConfig | null
  readonly blobStore: 'fs' | 's3'
  /** Set exactly when `blobStore` is `s3`. */
  readonly s3: S3Config | null
  readonly bootstrapAdminToken: string | null
  readonly logLevel: LogLevel
  readonly rateLimitPerMinute: number
  readonly exifGps: boolean
  readonly corsOrigins: readonly string[]
  readonly maxImagePixels: number
  readonly variantCacheBytes: number
  readonly workerConcurrency: number
  /** `pictura serve` runs this many HTTP processes on one port (node:cluster); 1 serves from the process itself. */
  readonly apiProcesses: number
  /** `pictura serve` runs a provisioning worker too; false leaves the jobs to `pictura worker` processes. */
  readonly workerInProcess: boolean
  /** How long a worker's claim on a job holds without a heartbeat; a crashed worker's jobs return after it. */
  readonly jobLeaseMs: number
  /** How long opening a database connection (or waiting for a free one) may take before the request answers 503. */
  readonly dbConnectTimeoutMs: number
  /** How long one statement may take (on SQLite: wait for another writer's lock) before the request answers 503. */
  readonly dbStatementTimeoutMs: number
  /** How long `serve` and `worker` wait at start for a database that does not answer yet, before giving up. */
  readonly dbStartupWaitMs: number
  /** The built web app served at `/`; null for the one `npm run build` makes beside the code. */
  readonly webDir: string | null
  /** A request whose headers have not all arrived after this long is answered 408 and closed (slowloris). */
  readonly headersTimeoutMs: number
  /** Blobs without a file row older than this are orphans of a crash and removed (start-up, `pictura sweep`). */
  readonly orphanBlobAgeMs: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Reads and validates every variable at once; pure, so tests pass their own env. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T | undefined, expected: string): T => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    const value = parse(raw.trim())
    if (value === undefined) {
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`)
      return fallback
    }
    return value
  }
  const int = (min: number, max: number) => (raw: string) => {
    if (!/^\d+$/.test(raw)) return undefined
    const n = Number(raw)
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
  }
  const oneOf =
    <T extends string>(...values: T[]) =>
    (raw: string) =>
      (values as string[]).includes(raw) ? (raw as T) : undefined
  const bool = (raw: string) =>
    raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined
  const url = (raw: string) => {
    try {
      const u = new URL(raw)
      return u.protocol === 'http:' || u.protocol === 'https:' ? raw.replace(/\/+$/, '') : undefined
    } catch {
      return undefined
    }
  }

  const port = read('PORT', 8787, int(0, 65535), 'a port number 0-65535')
  const host = read('HOST', '127.0.0.1', (raw) => raw, 'a host')
  const dataDir = path.resolve(read('DATA_DIR', './data', (raw) => raw, 'a directory'))
  const db = read<DbConfig>(
    'DATABASE_URL',
    { driver: 'sqlite', file: path.join(dataDir, 'pictura.db') },
    (raw) => {
      if (/^postgres(ql)?:\/\//.test(raw)) return { driver: 'postgres', url: raw }
      if (raw.startsWith('sqlite:'))
        return { driver: 'sqlite', file: path.resolve(raw.slice('sqlite:'.length)) }
      return undefined
    },
    'postgres://… or sqlite:<file>',
  )
  const imageProvider = read(
    'IMAGE_PROVIDER',
    'local' as const,
    oneOf('local', 'cloudflare'),
    'local or cloudflare',
  )
  const readCloudflare = (): CloudflareConfig => {
    const required = (name: string, parse: (raw: string) => string | undefined, expected: string) => {
      if (env[name] === undefined || env[name].trim() === '')
        problems.push(`${name} is required when IMAGE_PROVIDER=cloudflare: ${expected}`)
      return read(name, '', parse, expected)
    }
    return Object.freeze({
      accountId: required(
        'CF_ACCOUNT_ID',
        (raw) => (/^[0-9a-f]{32}$/.test(raw) ? raw : undefined),
        'the 32-character hex account id',
      ),
      accountHash: required(
        'CF_ACCOUNT_HASH',
        (raw) => (/^[\w-]{1,64}$/.test(raw) ? raw : undefined),
        'the delivery account hash seen in imagedelivery.net URLs',
      ),
      apiToken: required(
        'CF_API_TOKEN',
        (raw) => (/^\S{1,512}$/.test(raw) ? raw : undefined),
        'an API token with Images Read and Edit',
      ),
      apiBase: read('CF_API_BASE', 'https://api.cloudflare.com/client/v4', url, 'an http(s) URL'),
    })
  }
  const blobStore = read('BLOB_STORE', 'fs' as const, oneOf('fs', 's3'), 'fs or s3')
  const readS3 = (): S3Config => {
    const required = (name: string, pattern: RegExp | typeof url, expected: string) => {
      if (env[name] === undefined || env[name].trim() === '')
        problems.push(`${name} is required when BLOB_STORE=s3: ${expected}`)
      const parse =
        pattern instanceof RegExp ? (raw: string) => (pattern.test(raw) ? raw : undefined) : pattern
      return read(name, '', parse, expected)
    }
    return Object.freeze({
      endpoint: required(
        'S3_ENDPOINT',
        url,
        'the http(s) URL of the S3 API, e.g. https://s3.eu-west-1.amazonaws.com',
      ),
      region: required('S3_REGION', /^[a-z0-9-]{1,64}$/, 'a region such as us-east-1 (auto for R2)'),
      bucket: required(
        'S3_BUCKET',
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'a bucket name: 3-63 lowercase letters, digits, dots and hyphens',
      ),
      accessKeyId: required('S3_ACCESS_KEY_ID', /^\S{1,256}$/, 'an access key id'),
      secretAccessKey: required('S3_SECRET_ACCESS_KEY', /^\S{1,512}$/, 'a secret access key'),
      forcePathStyle: read('S3_FORCE_PATH_STYLE', false, bool, 'true or false'),
    })
  }
  const config: Config = {
    port,
    host,
    dataDir,
    db,
    publicUrl: read(
      'PUBLIC_URL',
      `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      url,
      'an http(s) URL',
    ),
    maxUploadBytes: read(
      'MAX_UPLOAD_BYTES',
      100 * 1024 * 1024,
      int(1, Number.MAX_SAFE_INTEGER),
      'a positive integer',
    ),
    imageProvider,
    blobStore,
    s3: blobStore === 's3' ? readS3() : null,
    bootstrapAdminToken: read(
      'BOOTSTRAP_ADMIN_TOKEN',
      null,
      (raw) => (/^pic_[A-Za-z0-9_-]{16,200}$/.test(raw) ? raw : undefined),
      'a token of the form pic_ followed by 16-200 URL-safe characters',
    ),
    logLevel: read(
      'LOG_LEVEL',
      'info' as LogLevel,
      oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
      'fatal, error, warn, info, debug, trace or silent',
    ),
    rateLimitPerMinute: read(
      'RATE_LIMIT_PER_MINUTE',
      6000,
      int(0, 10_000_000),
      'an integer >= 0 (0 turns it off)',
    ),
    exifGps: read('EXIF_GPS', false, bool, 'true or false'),
    corsOrigins: read(
      'CORS_ORIGINS',
      [] as string[],
      (raw) => {
        const list = raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
        return list.every((o) => o === '*' || url(o) !== undefined) ? list : undefined
      },
      'a comma-separated list of origins such as https://app.example.com',
    ),
    maxImagePixels: read('MAX_IMAGE_PIXELS', 100_000_000, int(1, 10_000_000_000), 'a positive integer'),
    variantCacheBytes: read(
      'VARIANT_CACHE_BYTES',
      256 * 1024 * 1024,
      int(0, Number.MAX_SAFE_INTEGER),
      'an integer >= 0',
    ),
    workerConcurrency: read('WORKER_CONCURRENCY', 2, int(1, 64), 'an integer 1-64'),
    apiProcesses: read('API_PROCESSES', 1, int(1, 64), 'an integer 1-64'),
    workerInProcess: read('WORKER_IN_PROCESS', true, bool, 'true or false'),
    jobLeaseMs: read('JOB_LEASE_MS', 60_000, int(1_000, 3_600_000), 'milliseconds from 1000 to 3600000'),
    dbConnectTimeoutMs: read(
      'DB_CONNECT_TIMEOUT_MS',
      5_000,
      int(100, 600_000),
      'milliseconds from 100 to 600000',
    ),
    dbStatementTimeoutMs: read(
      'DB_STATEMENT_TIMEOUT_MS',
      5_000,
      int(100, 3_600_000),
      'milliseconds from 100 to 3600000',
    ),
    dbStartupWaitMs: read(
      'DB_STARTUP_WAIT_MS',
      120_000,
      int(0, 86_400_000),
      'milliseconds from 0 to 86400000',
    ),
    headersTimeoutMs: read(
      'HEADERS_TIMEOUT_MS',
      60_000,
      int(100, 600_000),
      'milliseconds from 100 to 600000',
    ),
    orphanBlobAgeMs: read(
      'ORPHAN_BLOB_AGE_MS',
      60 * 60_000,
      int(0, 30 * 24 * 3_600_000),
      'milliseconds from 0 to 30 days',
    ),
    cloudflare: imageProvider === 'cloudflare' ? readCloudflare() : null,
    webDir: read('WEB_DIR', null as string | null, (raw) => path.resolve(raw), 'a folder'),
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(config)
}
