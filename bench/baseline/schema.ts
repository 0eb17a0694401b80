/**
 * The independent baseline's tables: the least that answers the bench's reads
 * correctly, written by hand and sharing nothing with Pictura's schema. The
 * same on SQLite and PostgreSQL.
 *
 * - `images`: one row an image, its answer's JSON stored as text. The JSON's
 *   `url` holds only the path (`/cdn/<cfImageId>/public`): PUBLIC_URL is
 *   configuration, spliced in by the server (see server.ts). The primary key
 *   (workspace_id, id) serves a workspace's pages, newest first, as one range.
 *   A plain table (SQLite's rowid table, PostgreSQL's heap), rows in id order
 *   as a live service inserts them: on SQLite a table clustered on that key
 *   (`without rowid`) puts a third of the rows (1 KB of JSON with EXIF) into
 *   overflow pages at the default page size, doubling the file and the
 *   time of a page (see bench/RESULTS.md).
 * - `images_id` (unique): get by id, the `ids` lookups, and the admin list (all
 *   workspaces, newest first); `images_file_id` (unique): get by file.
 * - `counts`: images per workspace, for an exact `pageInfo.total` without
 *   counting rows (the big workspace holds 100,000).
 * - `meta`: what the tables were copied from (see seed.ts).
 */
export type Driver = 'sqlite' | 'postgres'

export const TABLES_SQL = [
  `create table images (
    workspace_id text not null,
    id text not null,
    file_id text not null,
    json text not null,
    primary key (workspace_id, id)
  )`,
  'create table counts (workspace_id text primary key, images bigint not null)',
  'create table meta (key text primary key, value text not null)',
]

/** Built after the rows are in: one sorted build each instead of a million inserts into them. */
export const INDEXES_SQL = [
  'create unique index images_id on images (id)',
  'create unique index images_file_id on images (file_id)',
]

/**
 * An image's JSON as Pictura answers it (keys in the order of its `Image` schema,
 * `exif` as stored, `{}` when none; GPS tags are left out, as with Pictura's
 * default EXIF_GPS=false), computed in SQL from a Pictura images row, selected
 * by column name. `quote` makes a JSON string of a text expression.
 */
export function imageJsonSql(driver: Driver): string {
  const quote = (expr: string) => (driver === 'sqlite' ? `json_quote(${expr})` : `to_json(${expr})::text`)
  const text = (key: string, expr: string) => `'"${key}":' || ${quote(expr)}`
  const raw = (key: string, expr: string) => `'"${key}":' || ${expr}`
  const members = [
    text('id', 'id'),
    text('fileId', 'file_id'),
    text('workspaceId', 'workspace_id'),
    text('cfImageId', 'cf_image_id'),
    raw('width', 'width'),
    raw('height', 'height'),
    raw('size', 'size'),
    raw('exif', `coalesce(nullif(exif, ''), '{}')`),
    raw('thumbhash', `coalesce(${quote('thumbhash')}, 'null')`),
    text('url', `'/cdn/' || cf_image_id || '/public'`),
    text('createdAt', 'created_at'),
  ]
  return `'{' || ${members.join(` || ',' || `)} || '}'`
}
