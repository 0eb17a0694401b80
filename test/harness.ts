import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { DestinationStream } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { type Container, createContainer } from '../src/container.js'
import { bootstrapAdmin } from '../src/features/auth/bootstrap.js'
import type { App } from '../src/http/app-types.js'
import { createLogger } from '../src/shared/logger.js'

export type DbKind = 'sqlite' | 'postgres'

/** Which database this run of the suite uses: set by test/run.ts, sqlite when run by hand. */
export const DB_KIND: DbKind = process.env.PICTURA_TEST_DB === 'postgres' ? 'postgres' : 'sqlite'
export const PG_URL = process.env.PICTURA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestEnv {
  app: App
  c: Container
  dataDir: string
  adminToken: string
  /** An env for a child process on the same database (crash tests). */
  env: Record<string, string>
  close(): Promise<void>
}

/** A fresh schema on the shared PostgreSQL, so parallel runs never see each other's rows. */
export async function freshPostgresUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  await admin.end()
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
    },
  }
}

export async function createTestEnv(
  overrides: Record<string, string> = {},
  options: { log?: DestinationStream } = {},
): Promise<TestEnv> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pictura-test-'))
  const pgDb = DB_KIND === 'postgres' ? await freshPostgresUrl() : null
  const adminToken = `pic_${randomBytes(24).toString('base64url')}`
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: process.env.PICTURA_TEST_LOG_LEVEL ?? 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    ...overrides,
  }
  const config = loadConfig(env)
  const c = await createContainer(config, createLogger(config.logLevel, options.log))
  await bootstrapAdmin(c, config.bootstrapAdminToken)
  const app = await buildApp(c)
  await app.ready()
  return {
    app,
    c,
    dataDir,
    adminToken,
    env,
    close: async () => {
      await app.close()
      await c.close()
      await pgDb?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
