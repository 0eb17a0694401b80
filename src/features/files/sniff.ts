import { fileTypeFromBuffer } from 'file-type'

/**
 * How many leading bytes the sniffer sees. Magic numbers sit in the first few
 * bytes; TIFF-based camera RAW and ZIP-based documents need more, and SVG
 * often opens with a long comment or DOCTYPE before `<svg`.
 */
export const SNIFF_BYTES = 64 * 1024

const OCTET_STREAM = 'application/octet-stream'

/**
 * The mime of a file from its first bytes only, never from what the client
 * says (API.md section 3): magic bytes via file-type, then text markup, since
 * file-type calls every XML document (SVG included) `application/xml` and
 * knows no HTML.
 */
export async function sniffMime(head: Uint8Array): Promise<string> {
  const detected = await detect(head)
  if (detected !== undefined && detected !== 'application/xml') return detected
  return markup(head) ?? detected ?? OCTET_STREAM
}

async function detect(head: Uint8Array): Promise<string | undefined> {
  try {
    const found = (await fileTypeFromBuffer(head))?.mime
    if (found !== undefined) return found
  } catch {
    // A truncated or hostile header makes some detectors throw: fall through to the plain checks.
  }
  // file-type follows a TIFF's first IFD, which may sit anywhere (at the end of an uncompressed
  // TIFF); past the head it gives up, so the TIFF signature alone decides, as file-type does for streams.
  return isTiffSignature(head) ? 'image/tiff' : undefined
}

const isTiffSignature = (b: Uint8Array) =>
  (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) ||
  (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a)

/** Text markup rules: `<svg`, an XML prolog before `<svg`, `<!doctype html` / `<html`, other `<?xml`. */
function markup(head: Uint8Array): string | undefined {
  const text = decodeText(head)
  if (text === undefined) return undefined
  const start = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase()
  if (!start.startsWith('<')) return undefined
  if (/^<!doctype\s+html[\s>]/.test(start) || /^<html[\s>]/.test(start)) return 'text/html'
  if (/^<svg[\s>/]/.test(start)) return 'image/svg+xml'
  if (start.startsWith('<?xml')) return rootElement(start) === 'svg' ? 'image/svg+xml' : 'application/xml'
  return undefined
}

/** The name of the first element after the prolog, comments, processing instructions and DOCTYPE. */
function rootElement(xml: string): string | undefined {
  let rest = xml
  for (;;) {
    rest = rest.trimStart()
    if (rest.startsWith('<?')) rest = after(rest, '?>')
    else if (rest.startsWith('<!--')) rest = after(rest, '-->')
    else if (rest.startsWith('<!doctype')) rest = afterDoctype(rest)
    else break
  }
  const match = /^<([a-z_][\w.-]*:)?([a-z_][\w.-]*)/.exec(rest)
  return match?.[2]
}

const after = (s: string, end: string) => {
  const i = s.indexOf(end)
  return i < 0 ? '' : s.slice(i + end.length)
}

/** A DOCTYPE may carry an internal subset in brackets, which holds `>` of its own. */
function afterDoctype(s: string): string {
  const close = s.indexOf('>')
  const bracket = s.indexOf('[')
  if (bracket >= 0 && bracket < close) return after(after(s, ']'), '>')
  return close < 0 ? '' : s.slice(close + 1)
}

/** The head as text: UTF-8 (BOM or not), or UTF-16 when it opens with that BOM. */
function decodeText(head: Uint8Array): string | undefined {
  const bytes = head.subarray(0, SNIFF_BYTES)
  const label =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : 'utf-8'
  try {
    // Not fatal: the head may end inside a multi-byte character.
    return new TextDecoder(label, { fatal: false }).decode(bytes)
  } catch {
    // A Node build without full ICU has no utf-16be decoder.
    return undefined
  }
}
