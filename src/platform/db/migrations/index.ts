import type { Migration, MigrationProvider } from 'kysely'
import { initial } from './20261126-initial.js'
import { jobsDueOrder } from './20261127-jobs-due-order.js'
import { readVersion } from './20261127-read-version.js'
import { filesSha256 } from './20261204-files-sha256.js'
import { imageJson } from './20261204-image-json.js'
import { readVersionSqlite } from './20261204-read-version-sqlite.js'
import { imageThumbhash } from './20261205-image-thumbhash.js'
import { imageUrlPath } from './20261206-image-url-path.js'

/** Every migration, in order; names carry a date prefix so they sort as they were written. */
const migrations: Record<string, Migration> = {
  '20261126-initial': initial,
  '20261127-jobs-due-order': jobsDueOrder,
  '20261127-read-version': readVersion,
  '20261204-files-sha256': filesSha256,
  '20261204-image-json': imageJson,
  '20261204-read-version-sqlite': readVersionSqlite,
  '20261205-image-thumbhash': imageThumbhash,
  '20261206-image-url-path': imageUrlPath,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
