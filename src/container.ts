import { randomBytes } from 'node:crypto'
import type { Config } from './config.js'
import { TokensService } from './features/auth/tokens.service.js'
import { UsersService } from './features/auth/users.service.js'
import { Access } from './features/workspaces/access.js'
import { WorkspacesService } from './features/workspaces/workspaces.service.js'
import { CursorCodec } from './http/cursor.js'
import { RateLimiter } from './http/rate-limit.js'
import { type DatabaseHandle, type Db, migrateToLatest, openDatabase } from './platform/db/database.js'
import { DbJobQueue } from './platform/jobs/db-job-queue.js'
import type { JobHandler } from './platform/jobs/job-queue.js'
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
  readonly rateLimiter: RateLimiter
  readonly queue: DbJobQueue
  /** Job kind -> handler; features add theirs here, workers run them. */
  readonly jobHandlers: Map<string, JobHandler>
  readonly users: UsersService
  readonly tokens: TokensService
  readonly workspaces: WorkspacesService
  close(): Promise<void>
}

export async function createContainer(
  config: Config,
  log: Logger,
  options: { migrate?: boolean; clock?: Clock } = {},
): Promise<Container> {
  const database = openDatabase(config.db)
  const { db } = database
  if (options.migrate !== false) {
    const applied = await migrateToLatest(db)
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated')
  }
  const clock = options.clock ?? systemClock
  const cursors = new CursorCodec(await cursorSecret(db))
  const access = new Access(db)
  const queue = new DbJobQueue(db, database.capabilities)
  const jobHandlers = new Map<string, JobHandler>()
  const base = { db, clock, cursors }

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
    jobHandlers,
    users: new UsersService(base),
    tokens: new TokensService(base),
    workspaces: new WorkspacesService({ ...base, access, purge: async () => {} }),
    close: () => database.destroy(),
  }
}

/** One secret per deployment, kept in the database so every node signs and accepts the same cursors. */
async function cursorSecret(db: Db): Promise<Buffer> {
  await db
    .insertInto('settings')
    .values({ key: 'cursor_secret', value: randomBytes(32).toString('base64') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute()
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'cursor_secret')
    .executeTakeFirstOrThrow()
  return Buffer.from(row.value, 'base64')
}
