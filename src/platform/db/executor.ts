import type { Kysely, Transaction } from 'kysely'
import type { Database } from './tables.js'

/** Either the database or a transaction on it: repositories that must join a caller's transaction take this. */
export type Executor = Kysely<Database> | Transaction<Database>
