/**
 * `npm run bench`: seeds SQLite and PostgreSQL (and the independent baseline's
 * copy of the same images, bench/baseline/), loads Pictura and the baseline
 * with the same reads, then measures ingest and a large streamed upload.
 * Knobs: see bench/config.ts and bench/RESULTS.md.
 */
import { execSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import path from 'node:path'
import { seedBaseline } from './baseline/seed.js'
import { type BenchConfig, benchConfig, repoRoot } from './config.js'
import { type ImportMemoryReport, type ImportReport, importMemoryPhase, importPhase } from './import.js'
import { type ReadReport, readPhase } from './reads.js'
import { seedPostgres, seedSqlite } from './seed.js'
import { type IngestReport, ingestPhase, removeSpentDirs, type StreamReport, streamPhase } from './writes.js'

interface DbReport {
  driver: 'sqlite' | 'postgres'
  images: number
  depth: number
  reads?: ReadReport
  ingest?: IngestReport
  stream?: StreamReport
  importRun?: ImportReport
  importMemory?: ImportMemoryReport
}

const f0 = (n: number) => Math.round(n).toLocaleString('en')
const f1 = (n: number) => n.toFixed(1)
const f2 = (n: number) => n.toFixed(2)
const mark = (ok: boolean) => (ok ? 'yes' : '**no**')

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at start ${load}`
}

/** The targets of the reads: against the independent baseline, SQLite 0.7 and PostgreSQL 0.6 of its throughput. */
const BASELINE_SHARE = { sqlite: 0.7, postgres: 0.6 }
const DEPTH_SHARE = 0.9
const PEAK_MIB = 150

function readLines(cfg: BenchConfig, driver: DbReport['driver'], reads: ReadReport, depth: number): string[] {
  const out: string[] = []
  const differs = new Set(reads.mismatches.map((m) => m.endpoint))
  if (differs.size > 0)
    out.push(
      '',
      `**The baseline answered differently from Pictura on ${differs.size} endpoint(s): their ratios are void.**`,
    )
  out.push(
    '',
    '| endpoint | Pictura req/s | p50 ms | p99 ms | CPU µs/req | baseline req/s | p50 ms | p99 ms | CPU µs/req | Pictura / baseline |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  )
  for (const row of reads.rows) {
    const { pictura: p, baseline: b } = row
    const failed = p.failed + b.failed > 0 ? ` (failed: ${p.failed}/${b.failed})` : ''
    const differ = differs.has(row.endpoint) ? ' (**answers differ**)' : ''
    out.push(
      `| ${row.endpoint}${failed}${differ} | ${f0(p.rps)} | ${p.p50} | ${p.p99} | ${f0(p.cpuUs)} | ${f0(b.rps)} | ${b.p50} | ${b.p99} | ${f0(b.cpuUs)} | ${f2(p.rps / b.rps)} |`,
    )
  }
  // By name: with BENCH_ONLY some rows are missing, and their places shift.
  const row = (prefix: string) => reads.rows.find((x) => x.endpoint.startsWith(prefix))
  const [first, deep, admin] = [row('list, first'), row('list, depth'), row('admin list')]
  const m = reads.memory
  out.push('', 'Targets:')
  out.push(
    `- the baseline's answers equal Pictura's (${f0(reads.compared)} requests compared before the loads): ${mark(differs.size === 0)}`,
  )
  for (const mm of reads.mismatches)
    out.push(`  - **${mm.endpoint}: ${mm.differing} of ${mm.compared} differ**; first: ${mm.first}`)
  const share = BASELINE_SHARE[driver]
  if (reads.rows.length > 0) {
    const worst = reads.rows.reduce((a, x) =>
      x.pictura.rps / x.baseline.rps < a.pictura.rps / a.baseline.rps ? x : a,
    )
    const ratio = worst.pictura.rps / worst.baseline.rps
    out.push(
      `- every read at ${share} of the baseline or more: lowest ${f2(ratio)} (${worst.endpoint}): ${mark(ratio >= share)}`,
    )
  }
  if (first && deep) {
    const d = deep.pictura.rps / first.pictura.rps
    const own = deep.baseline.rps / first.baseline.rps
    out.push(
      `- depth ${f0(depth)} at ${DEPTH_SHARE} of the first page or more: ${f2(d)} (the baseline's own: ${f2(own)}): ${mark(d >= DEPTH_SHARE)}`,
    )
  }
  out.push(
    `- peak memory at most ${PEAK_MIB} MiB through the reads: ${f0(m.hwm)} MiB (RSS ${f0(m.start)} at start, sampled peak ${f0(m.peak)}, proportional set size peak ${f0(m.pss)}): ${mark(m.hwm <= PEAK_MIB)}`,
  )
  if (admin)
    out.push(
      `- admin list p99: ${admin.pictura.p99} ms at ${cfg.connections} connections (baseline ${admin.baseline.p99} ms)`,
    )
  const alone = reads.adminAlone
  if (alone)
    out.push(
      `- admin list with one client: p50 ${alone.pictura.p50} ms, p99 ${alone.pictura.p99} ms, ${f0(alone.pictura.rps)} req/s (baseline: p99 ${alone.baseline.p99} ms, ${f0(alone.baseline.rps)} req/s)`,
    )
  return out
}

function report(cfg: BenchConfig, runs: DbReport[], startLoad: string): string {
  const out: string[] = []
  out.push(`Machine: ${startLoad}`)
  out.push(
    `Settings: BENCH_IMAGES=${cfg.images} BENCH_WORKSPACES=${cfg.workspaces} BENCH_DURATION=${cfg.duration} BENCH_CONNECTIONS=${cfg.connections} BENCH_API_PROCESSES=${cfg.apiProcesses}, load average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  if (runs.some((r) => (r.reads?.mismatches.length ?? 0) > 0))
    out.push(
      '',
      "**The baseline's answers differed from Pictura's (see below): those endpoints' ratios are void.**",
    )
  for (const r of runs) {
    out.push('', `### ${r.driver === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: ${f0(r.images)} images`)
    if (r.reads) out.push(...readLines(cfg, r.driver, r.reads, r.depth))
    if (r.ingest) {
      const { count, clients, rounds, median: m } = r.ingest
      const rates = rounds.map((x) => f0(x.imagesPerSecond)).join(', ')
      const peak = Math.max(...rounds.map((x) => x.memory.hwm))
      out.push(
        `- ingest: ${count} JPEGs, ${clients} clients, median of ${rounds.length} rounds (${rates}): all answered in ${f1(m.uploadSeconds)} s, all listed in ${f1(m.listedSeconds)} s = **${f0(m.imagesPerSecond)} images/s** end to end (target 200: ${mark(m.imagesPerSecond >= 200)}); server ${f1(m.serverCpuMs)} ms of CPU an image${m.databaseCpuMs ? `, PostgreSQL ${f1(m.databaseCpuMs)}` : ''}, load generator ${f1(m.clientCpuMs)}; server peak ${f0(peak)} MiB`,
      )
    }
    if (r.stream) {
      const s = r.stream
      out.push(
        `- streamed upload of ${f0(s.bytes / 2 ** 20)} MiB in ${f1(s.seconds)} s (${f0(s.bytes / 2 ** 20 / s.seconds)} MiB/s): RSS ${f0(s.before)} → peak ${f0(s.peak)} MiB, growth **${f0(s.growth)} MiB** (target under 100: ${mark(s.growth < 100)})`,
      )
    }
    if (r.importRun) {
      const i = r.importRun
      const rounds = i.rounds
        .map((x) => `${f0(x.cli.imagesPerSecond)}/${f0(x.bench.imagesPerSecond)}`)
        .join(', ')
      const cpu = median(i.rounds.map((x) => x.cli.cpuMsPerImage))
      const peak = Math.max(...i.rounds.map((x) => x.cli.peakMiB))
      out.push(
        `- \`pictura import\` of ${i.count} JPEGs (default concurrency, waiting for every image): **${f0(i.cli)} images/s** against the bench uploader's ${f0(i.bench)} = **${f2(i.ratio)}** (target 0.8: ${mark(i.ratio >= 0.8)}); rounds CLI/bench ${rounds}; CLI ${f2(cpu)} ms of CPU an image, peak ${f0(peak)} MiB`,
      )
    }
    if (r.importMemory) {
      const m = r.importMemory
      out.push(
        `- \`pictura import\` of ${m.files} files, ${f1(m.bytes / 2 ** 30)} GiB, in ${f0(m.seconds)} s (${f0(m.bytes / 2 ** 20 / m.seconds)} MiB/s): CLI peak RSS **${f0(m.peak)} MiB** (high-water mark ${f0(m.hwm)}; target under 150: ${mark(Math.max(m.peak, m.hwm) < 150)})`,
      )
    }
  }
  return out.join('\n')
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!

async function main() {
  const cfg = benchConfig()
  const startLoad = machine()
  process.stderr.write(`[bench] ${startLoad}\n`)
  if (cfg.build) {
    process.stderr.write('[bench] npm run build\n')
    execSync('npm run build --silent', { cwd: repoRoot, stdio: 'inherit' })
  }
  if (cfg.profileDir) mkdirSync(cfg.profileDir, { recursive: true })
  const runs: DbReport[] = []
  try {
    await runAll(cfg, runs)
  } finally {
    removeSpentDirs(cfg)
  }
  const text = report(cfg, runs, startLoad)
  process.stdout.write(`\n${text}\n`)
  const file = path.join(cfg.dataDir, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.md`)
  writeFileSync(file, `${text}\n`)
  process.stderr.write(`[bench] written to ${file}\n`)
}

async function runAll(cfg: BenchConfig, runs: DbReport[]): Promise<void> {
  for (const driver of cfg.dbs) {
    const run: DbReport = { driver, images: 0, depth: 0 }
    runs.push(run)
    if (cfg.phases.has('seed') || cfg.phases.has('reads')) {
      const fx = driver === 'sqlite' ? await seedSqlite(cfg) : await seedPostgres(cfg)
      const baselineUrl = await seedBaseline(cfg, fx)
      if (!cfg.phases.has('reads')) continue
      run.images = fx.images
      run.depth = fx.depth
      const dataDir = path.join(cfg.dataDir, `run-reads-${driver}`)
      run.reads = await readPhase(cfg, fx, baselineUrl, dataDir)
    }
    if (cfg.phases.has('ingest')) run.ingest = await ingestPhase(cfg, driver)
    if (cfg.phases.has('stream')) run.stream = await streamPhase(cfg, driver)
    if (cfg.phases.has('import')) run.importRun = await importPhase(cfg, driver)
    // The CLI's memory does not depend on the server's database: measured once, on the first.
    if (cfg.phases.has('import-memory') && driver === cfg.dbs[0])
      run.importMemory = await importMemoryPhase(cfg, driver)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
