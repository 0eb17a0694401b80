/** What a long command has done so far. */
export interface Tally {
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  failures: number
}

/**
 * Progress for people or for scripts. On a TTY: one bar, redrawn in place
 * (files done/total, bytes, rate, ETA, failures so far), with failures
 * printed above it. Otherwise: a plain line per event, and a progress line
 * every few seconds; no control characters.
 */
export interface Reporter {
  /** An event worth a line; `important` ones (failures) show above the bar on a TTY too. */
  event(text: string, important?: boolean): void
  update(tally: Tally): void
  /** Removes the bar; what follows prints as plain lines. */
  stop(): void
}

export interface Output {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export function createReporter(out: Output, label: string, now: () => number = Date.now): Reporter {
  const rate = new RateMeter(now)
  let tally: Tally = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, failures: 0 }
  if (!out.isTTY) {
    let lastLine = now()
    return {
      event: (text) => out.write(`${text}\n`),
      update(t) {
        tally = t
        rate.sample(t.bytesDone)
        if (now() - lastLine >= 5_000) {
          lastLine = now()
          out.write(`progress: ${describe(tally, rate.perSecond())}\n`)
        }
      },
      stop() {},
    }
  }
  let drawn = false
  let timer: ReturnType<typeof setInterval> | undefined
  const draw = () => {
    rate.sample(tally.bytesDone)
    const line = bar(label, tally, rate.perSecond(), out.columns ?? 100)
    out.write(`\r\x1b[2K${line}`)
    drawn = true
  }
  const clear = () => {
    if (drawn) out.write('\r\x1b[2K')
    drawn = false
  }
  timer = setInterval(draw, 100)
  timer.unref?.()
  return {
    event(text, important) {
      if (!important) return
      clear()
      out.write(`${text}\n`)
      draw()
    },
    update(t) {
      tally = t
      rate.sample(t.bytesDone)
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      draw()
      out.write('\n')
      drawn = false
    },
  }
}

/** `34/60 files · 12.3/40.1 MiB · 2.1 MiB/s · ETA 0:13 · 2 failed` */
export function describe(t: Tally, bytesPerSecond: number): string {
  const parts = [
    `${t.filesDone}/${t.filesTotal} files`,
    `${mib(t.bytesDone)}/${mib(t.bytesTotal)}`,
    `${mib(bytesPerSecond)}/s`,
    `ETA ${eta(t, bytesPerSecond)}`,
  ]
  if (t.failures > 0) parts.push(`${t.failures} failed`)
  return parts.join(' · ')
}

function bar(label: string, t: Tally, bytesPerSecond: number, columns: number): string {
  const text = describe(t, bytesPerSecond)
  const width = Math.max(10, Math.min(30, columns - text.length - label.length - 5))
  const share = t.filesTotal === 0 ? 0 : t.filesDone / t.filesTotal
  const full = Math.round(share * width)
  return `${label} [${'█'.repeat(full)}${'░'.repeat(width - full)}] ${text}`.slice(
    0,
    Math.max(20, columns - 1),
  )
}

function eta(t: Tally, bytesPerSecond: number): string {
  if (t.filesDone >= t.filesTotal) return '0:00'
  if (bytesPerSecond <= 0) return '–'
  return duration((t.bytesTotal - t.bytesDone) / bytesPerSecond)
}

/** `1:05`, `1:02:03` */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** `12.3 MiB`, `512 KiB`, `20 B` */
export function mib(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`
  return `${Math.round(bytes)} B`
}

/** Bytes a second over the last five seconds. */
class RateMeter {
  private samples: { at: number; bytes: number }[] = []
  constructor(private readonly now: () => number) {}

  sample(bytes: number) {
    const at = this.now()
    this.samples.push({ at, bytes })
    while (this.samples.length > 2 && at - this.samples[0]!.at > 5_000) this.samples.shift()
  }

  perSecond(): number {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (!first || !last || last.at - first.at < 200) return 0
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at)
  }
}
