/** Small formatting helpers for people: sizes, dates, EXIF values. */

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}

export const date = (iso: string) => {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

export const count = (n: number) => n.toLocaleString('en')

type Tags = Record<string, unknown>

const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN)

function exposure(v: unknown): string | null {
  const s = num(v)
  if (!Number.isFinite(s) || s <= 0) return null
  return s >= 1 ? `${s} s` : `1/${Math.round(1 / s)} s`
}

/** "Canon" and "Canon EOS R6" read "Canon EOS R6"; "FUJIFILM" and "X-T4" read "FUJIFILM X-T4". */
function camera(make: unknown, model: unknown): string | null {
  const m = typeof make === 'string' ? make.trim() : ''
  const mo = typeof model === 'string' ? model.trim() : ''
  const brand = m.split(/\s+/)[0] ?? ''
  if (mo && brand && mo.toLowerCase().startsWith(brand.toLowerCase())) return mo
  return [m, mo].filter(Boolean).join(' ') || null
}

/** The EXIF rows a person looks for, in a fixed order; absent tags are left out. */
export function exifSummary(tags: Tags): [string, string][] {
  const rows: [string, string | null][] = [
    ['Camera', camera(tags.Make, tags.Model)],
    ['Lens', typeof tags.LensModel === 'string' ? tags.LensModel : null],
    ['Exposure', exposure(tags.ExposureTime)],
    ['Aperture', Number.isFinite(num(tags.FNumber)) ? `f/${num(tags.FNumber)}` : null],
    ['ISO', tags.ISO !== undefined ? String(tags.ISO) : null],
    ['Focal length', Number.isFinite(num(tags.FocalLength)) ? `${num(tags.FocalLength)} mm` : null],
    ['Taken', typeof tags.DateTimeOriginal === 'string' ? tags.DateTimeOriginal.replace('T', ' ') : null],
    ['Orientation', tags.Orientation !== undefined ? String(tags.Orientation) : null],
    [
      'GPS',
      Number.isFinite(num(tags.GPSLatitude)) && Number.isFinite(num(tags.GPSLongitude))
        ? `${num(tags.GPSLatitude).toFixed(5)}, ${num(tags.GPSLongitude).toFixed(5)}`
        : null,
    ],
  ]
  return rows.filter((r): r is [string, string] => r[1] !== null)
}

export function tagValue(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}
