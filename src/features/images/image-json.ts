import { publicExif } from './exif.js'

/**
 * An image's JSON, as the API answers it, is mostly written once: an image
 * never changes after it is provisioned, so its row keeps the text of every
 * field up to `exif` (the head, stored unclosed in `images.json`), and a read
 * only appends what follows the configuration (the delivery URL) and the
 * creation date. A page is then a range scan and a concatenation.
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

/** The whole image: its head, then `url` and `createdAt`, the keys in the `Image` schema's order. */
export function imageJson(head: string, url: string, createdAt: string): string {
  return `${head},"url":${str(url)},"createdAt":${str(createdAt)}}`
}

/**
 * A head whose `exif` also holds the GPS tags (EXIF_GPS=true, off by default:
 * the slow way, parsing the head once more).
 */
export function withGps(head: string, exifGps: string): string {
  const image = JSON.parse(`${head}}`) as { exif: Record<string, unknown> }
  image.exif = publicExif({ exif: JSON.stringify(image.exif), exif_gps: exifGps }, true)
  return JSON.stringify(image).slice(0, -1)
}

/** Characters a JSON string may hold as they are (ids, hex, ISO dates, URLs); anything else is escaped. */
const PLAIN = /^[\w\-.:/+%~?=&@]*$/

function str(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
}
