// Preloaded into the soak's server (node --import): every 5 s, one JSON line of process.memoryUsage() and
// V8's heap spaces in MiB, appended to SOAK_PROBE_FILE, so bench/SOAK.md can say which part of RSS grows.
// SOAK_PROBE_LIVE=1 (a diagnosis, it changes what it measures): a full GC every 30 s, recording the live heap.
import { appendFileSync } from 'node:fs'
import v8 from 'node:v8'
import vm from 'node:vm'

const file = process.env.SOAK_PROBE_FILE
const mib = (n) => Math.round((n / 1048576) * 10) / 10
if (file) {
  setInterval(() => {
    const m = process.memoryUsage()
    const spaces = Object.fromEntries(
      v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), mib(s.space_used_size)]),
    )
    const line = {
      at: Date.now(),
      rss: mib(m.rss),
      heapTotal: mib(m.heapTotal),
      heapUsed: mib(m.heapUsed),
      external: mib(m.external),
      arrayBuffers: mib(m.arrayBuffers),
      spaces,
    }
    appendFileSync(file, `${JSON.stringify(line)}\n`)
  }, 5000).unref()
  // SOAK_PROBE_SNAPSHOTS=1 (a diagnosis): heap snapshots after 60 s and 180 s, beside the probe file.
  if (process.env.SOAK_PROBE_SNAPSHOTS === '1') {
    for (const s of [60, 180])
      setTimeout(() => v8.writeHeapSnapshot(`${file}.${s}s.heapsnapshot`), s * 1000).unref()
  }
  if (process.env.SOAK_PROBE_LIVE === '1') {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc')
    setInterval(() => {
      gc()
      appendFileSync(
        file,
        `${JSON.stringify({ at: Date.now(), live: mib(process.memoryUsage().heapUsed) })}\n`,
      )
    }, 30_000).unref()
  }
}
