import { publicExif } from './exif.js'

/**
 * An image's JSON, as the API answers it, is written once: an image never
 * changes after it is provisioned, so its row keeps the text of every field up
 * to `thumbhash` (the head, stored unclosed in `images.json`) and the path of
 * its delivery URL below the provider's base (`images.url_path`). A read's
 * statement concatenates the answer: head, `urlOpening` of the base as it is
 * configured now (a parameter of the statement, so the URL follows PUBLIC_URL
 * and the account), path, `DATE_KEY`, the creation date and `CLOSING`
 * (ImageReads). A page is a range scan whose rows are one string each.
 */

/** What the head is made of: the row as provisioning writes it. */
export interface ImageFields {
  id: string
  file_id: string
  workspace_id: string
  cf_image_id: string
  width: number
  height: number
  size: number
  /** JSON text of the public EXIF tags. */
  exif: string
  /** Base64 thumbhash of the image, null for images provisioned before it was computed. */
  thumbhash: string | null
}

/** The stored head: `{"id":…,"exif":{…},"thumbhash":…` (no closing brace). */
export function imageHead(r: ImageFields): string {
  return `{"id":${str(r.id)},"fileId":${str(r.file_id)},"workspaceId":${str(r.workspace_id)},"cfImageId":${str(r.cf_image_id)},"width":${r.width},"height":${r.height},"size":${r.size},"exif":${r.exif || '{}'},"thumbhash":${r.thumbhash === null ? 'null' : str(r.thumbhash)}`
}

/** What follows the head up to the path: the `url` key and a delivery base, escaped for JSON. */
export function urlOpening(base: string): string {
  return `,"url":${str(base).slice(0, -1)}`
}

/** Between the path and the date, and after the date: `url` then `createdAt`, the `Image` schema's order. */
export const DATE_KEY = '","createdAt":"'
export const CLOSING = '"}'

/**
 * A path or date as stored for the answer: stored text goes in between quotes
 * as it is, so one that JSON would escape is refused when the image is written
 * (neither can hold one: paths are escaped for URLs, dates are ISO-8601).
 */
export function storedAsIs(value: string): string {
  if (!AS_IS.test(value)) throw new Error(`Not stored in an image's JSON as it is: ${JSON.stringify(value)}`)
  return value
}

/**
 * An answer whose `exif` also holds the GPS tags (EXIF_GPS=true, off by
 * default: the slow way, parsing the answer once more).
 */
export function withGps(answer: string, exifGps: string): string {
  const image = JSON.parse(answer) as { exif: Record<string, unknown> }
  image.exif = publicExif({ exif: JSON.stringify(image.exif), exif_gps: exifGps }, true)
  return JSON.stringify(image)
}

/** Characters a JSON string may hold as they are (ids, hex, ISO dates, URLs); anything else is escaped. */
const PLAIN = /^[\w\-.:/+%~?=&@]*$/
/** Printable ASCII but `"` and `\`, which JSON.stringify writes as it is: URL paths and ISO dates. */
const AS_IS = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/

function str(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
}
