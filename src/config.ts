import path from 'node:path'

export type DbConfig = { driver: 'sqlite'; file: string } | { driver: 'postgres'; url: string }
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly db: DbConfig
  readonly publicUrl: string
  readonly maxUploadBytes: number
  readonly imageProvider: 'local' | 'cloudflare'
  readonly blobStore: 'fs' | 's3'
  readonly bootstrapAdminToken: string | null
  readonly logLevel: LogLevel
  readonly rateLimitPerMinute: number
  readonly exifGps: boolean
  readonly corsOrigins: readonly string[]
  readonly maxImagePixels: number
  readonly variantCacheBytes: number
  readonly workerConcurrency: number
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
    imageProvider: read(
      'IMAGE_PROVIDER',
      'local' as const,
      oneOf('local', 'cloudflare'),
      'local or cloudflare',
    ),
    blobStore: read('BLOB_STORE', 'fs' as const, oneOf('fs', 's3'), 'fs or s3'),
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
  }
  if (config.imageProvider === 'cloudflare')
    problems.push('IMAGE_PROVIDER=cloudflare is not available in this build yet')
  if (config.blobStore === 's3') problems.push('BLOB_STORE=s3 is not available in this build yet')
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(config)
}
