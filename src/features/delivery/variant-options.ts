import { errors } from '../../shared/errors.js'

export type Fit = 'scale-down' | 'contain' | 'cover' | 'crop' | 'pad'
export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'avif'

/** What a variant asks for; `format: null` keeps the original's family. */
export interface VariantSpec {
  width?: number
  height?: number
  fit: Fit
  format: OutputFormat | 'auto' | null
  quality?: number
}

/** Named variants, as a Cloudflare account defines them. */
export const NAMED_VARIANTS: Readonly<Record<string, VariantSpec>> = {
  public: { fit: 'scale-down', format: null },
  thumbnail: { width: 320, height: 320, fit: 'scale-down', format: null },
}

const FITS: readonly Fit[] = ['scale-down', 'contain', 'cover', 'crop', 'pad']
const FORMATS: readonly (OutputFormat | 'auto')[] = ['auto', 'webp', 'avif', 'jpeg', 'png']
const ALIASES: Record<string, 'w' | 'h' | 'fit' | 'format' | 'quality'> = {
  w: 'w',
  width: 'w',
  h: 'h',
  height: 'h',
  fit: 'fit',
  f: 'format',
  format: 'format',
  q: 'quality',
  quality: 'quality',
}
/** Cloudflare's own ceiling for a requested side; the output is bounded further by the delivery limit. */
const MAX_REQUESTED_SIDE = 12_000

/**
 * A named variant, or flexible options as Cloudflare writes them:
 * `w=640,h=480,fit=cover,format=auto,quality=80` (`width`/`height`, `f`, `q`
 * accepted too). Anything else is a 400 naming the problem.
 */
export function parseVariant(variant: string): VariantSpec {
  const named = NAMED_VARIANTS[variant]
  if (named && Object.hasOwn(NAMED_VARIANTS, variant)) return named
  if (!variant.includes('=')) throw errors.invalid(`Unknown variant '${variant.slice(0, 64)}'`, 'variant')
  const spec: VariantSpec = { fit: 'scale-down', format: null }
  const seen = new Set<string>()
  for (const part of variant.split(',')) {
    const eq = part.indexOf('=')
    const rawKey = eq < 0 ? part : part.slice(0, eq)
    const value = eq < 0 ? '' : part.slice(eq + 1)
    const key = Object.hasOwn(ALIASES, rawKey) ? ALIASES[rawKey] : undefined
    if (!key) throw errors.invalid(`Unknown variant option '${rawKey.slice(0, 32)}'`, 'variant')
    if (seen.has(key)) throw errors.invalid(`The variant option '${key}' is given twice`, 'variant')
    seen.add(key)
    if (key === 'w' || key === 'h') {
      const n = integer(value, 1, MAX_REQUESTED_SIDE)
      if (n === undefined)
        throw errors.invalid(`'${rawKey}' must be an integer from 1 to ${MAX_REQUESTED_SIDE}`, 'variant')
      if (key === 'w') spec.width = n
      else spec.height = n
    } else if (key === 'quality') {
      const n = integer(value, 1, 100)
      if (n === undefined) throw errors.invalid(`'${rawKey}' must be an integer from 1 to 100`, 'variant')
      spec.quality = n
    } else if (key === 'fit') {
      if (!(FITS as readonly string[]).includes(value))
        throw errors.invalid(`'fit' must be one of ${FITS.join(', ')}`, 'variant')
      spec.fit = value as Fit
    } else {
      if (!(FORMATS as readonly string[]).includes(value))
        throw errors.invalid(`'format' must be one of ${FORMATS.join(', ')}`, 'variant')
      spec.format = value as OutputFormat | 'auto'
    }
  }
  return spec
}

function integer(raw: string, min: number, max: number): number | undefined {
  if (!/^[1-9]\d{0,5}$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= min && n <= max ? n : undefined
}

/** One spelling per meaning, so aliases and option order share a cache entry. */
export function canonical(spec: VariantSpec): string {
  return [
    spec.width ? `w=${spec.width}` : '',
    spec.height ? `h=${spec.height}` : '',
    `fit=${spec.fit}`,
    spec.quality ? `quality=${spec.quality}` : '',
  ]
    .filter(Boolean)
    .join(',')
}

/**
 * The encoded format: an explicit one; for `auto` the best the client accepts
 * (AVIF, then WebP) or else the original's family; by default the original's
 * family (JPEG, PNG for PNG and GIF, WebP, AVIF; JPEG for TIFF and HEIF).
 */
export function chooseFormat(
  spec: VariantSpec,
  sourceMime: string,
  accept: string | undefined,
): OutputFormat {
  if (spec.format && spec.format !== 'auto') return spec.format
  if (spec.format === 'auto') {
    const accepted = acceptedImageTypes(accept)
    if (accepted.has('image/avif')) return 'avif'
    if (accepted.has('image/webp')) return 'webp'
    return sourceMime === 'image/png' || sourceMime === 'image/gif' ? 'png' : 'jpeg'
  }
  switch (sourceMime) {
    case 'image/png':
    case 'image/gif':
      return 'png'
    case 'image/webp':
      return 'webp'
    case 'image/avif':
      return 'avif'
    default:
      return 'jpeg'
  }
}

function acceptedImageTypes(accept: string | undefined): Set<string> {
  const types = new Set<string>()
  for (const item of (accept ?? '').split(',')) {
    const [type, ...params] = item.split(';').map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    if (type && !(q && Number(q.slice(2)) === 0)) types.add(type)
  }
  return types
}

export interface Geometry {
  /** Size to resize the (upright) image to, and how; null keeps it as is. */
  resize: { width: number; height: number; fit: 'fill' | 'cover' | 'contain' } | null
}

/**
 * Output geometry for an upright source of `w`x`h`, with Cloudflare's fit
 * semantics, bounded to `maxSide` on both sides (never larger than that,
 * whatever was asked): scale-down never enlarges, contain may, cover fills the
 * box and crops, crop is cover without enlarging, pad letterboxes into the box.
 */
export function geometry(spec: VariantSpec, w: number, h: number, maxSide: number): Geometry {
  const { width: bw, height: bh, fit } = spec
  const bound = (outW: number, outH: number) => {
    const s = Math.min(1, maxSide / outW, maxSide / outH)
    return { width: Math.max(1, Math.round(outW * s)), height: Math.max(1, Math.round(outH * s)) }
  }
  const scaled = (s: number) => bound(w * s, h * s)
  let box: { width: number; height: number; fit: 'fill' | 'cover' | 'contain' }
  if (bw === undefined && bh === undefined) {
    box = { ...scaled(1), fit: 'fill' }
  } else if (bw === undefined || bh === undefined || fit === 'scale-down' || fit === 'contain') {
    const s = Math.min(bw === undefined ? Infinity : bw / w, bh === undefined ? Infinity : bh / h)
    const enlarge = fit === 'contain' || fit === 'cover' || fit === 'pad'
    box = { ...scaled(enlarge ? s : Math.min(1, s)), fit: 'fill' }
  } else if (fit === 'cover') {
    box = { ...bound(bw, bh), fit: 'cover' }
  } else if (fit === 'crop') {
    const s = Math.min(1, Math.max(bw / w, bh / h))
    box = { ...bound(Math.min(bw, w * s), Math.min(bh, h * s)), fit: 'cover' }
  } else {
    box = { ...bound(bw, bh), fit: 'contain' }
  }
  return { resize: box.width === w && box.height === h && box.fit === 'fill' ? null : box }
}
