import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import path from 'node:path'
import type { BenchConfig } from './config.js'
import { repoRoot } from './config.js'
import { cpuSecondsOf, memoryOf } from './processes.js'
import { freshServer, type IngestRound, ingestRound, jpegs } from './writes.js'

/**
 * `pictura import` measured as a user runs it (the built CLI, its default
 * concurrency, waiting for every image), against the bench's own uploader
 * (writes.ts, 8 kept-alive clients) on the same kind of fresh server, in
 * alternating rounds of the same run; and the CLI's memory over a large import.
 */

export interface ImportRound {
  bench: IngestRound
  /** The CLI from start to exit (every image ready), and its own cost. */
  cli: { seconds: number; imagesPerSecond: number; cpuMsPerImage: number; peakMiB: number }
}

export interface ImportReport {
  count: number
  rounds: ImportRound[]
  /** Medians of each side, and their ratio (CLI / bench). */
  bench: number
  cli: number
  ratio: number
}

export interface ImportMemoryReport {
  files: number
  bytes: number
  seconds: number
  /** The CLI's resident memory at its peak (sampled) and the kernel's high-water mark, MiB. */
  peak: number
  hwm: number
}

const log = (msg: string) => process.stderr.write(`[import] ${msg}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!

export async function importPhase(cfg: BenchConfig, driver: 'sqlite' | 'postgres'): Promise<ImportReport> {
  const files = await jpegs(cfg.ingestCount)
  const dir = path.join(cfg.dataDir, `import-source-${driver}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [i, bytes] of files.entries())
    writeFileSync(path.join(dir, `photo-${String(i).padStart(5, '0')}.jpg`), bytes)
  const rounds: ImportRound[] = []
  try {
    for (let r = 0; r < cfg.ingestRounds; r++) {
      // Alternating, so both sides meet the machine in the same state.
      const bench = await ingestRound(cfg, driver, files)
      const cli = await cliRound(cfg, driver, dir, files.length)
      log(
        `${driver} round ${r + 1}: bench uploader ${bench.imagesPerSecond.toFixed(0)} images/s, pictura import ${cli.imagesPerSecond.toFixed(0)} images/s (${(cli.imagesPerSecond / bench.imagesPerSecond).toFixed(2)}), CLI ${cli.cpuMsPerImage.toFixed(2)} ms CPU an image, peak ${cli.peakMiB.toFixed(0)} MiB`,
      )
      rounds.push({ bench, cli })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const bench = median(rounds.map((r) => r.bench.imagesPerSecond))
  const cli = median(rounds.map((r) => r.cli.imagesPerSecond))
  return { count: files.length, rounds, bench, cli, ratio: cli / bench }
}

async function cliRound(cfg: BenchConfig, driver: 'sqlite' | 'postgres', dir: string, count: number) {
  const env = await freshServer(cfg, driver, 'import')
  try {
    const token = env.auth.authorization.slice('Bearer '.length)
    const started = performance.now()
    const run = runCli([
      'import',
      dir,
      '--workspace',
      env.workspaceId,
      '--url',
      env.server.url,
      '--token',
      token,
    ])
    const code = await run.exited
    const seconds = (performance.now() - started) / 1000
    if (code !== 0) throw new Error(`pictura import exited ${code}:\n${run.output().slice(-2000)}`)
    const res = await fetch(`${env.server.url}/api/images?workspace_id=${env.workspaceId}&limit=1`, {
      headers: env.auth,
    })
    const total = ((await res.json()) as { pageInfo: { total: number } }).pageInfo.total
    if (total !== count) throw new Error(`pictura import left ${total} of ${count} images`)
    return {
      seconds,
      imagesPerSecond: count / seconds,
      cpuMsPerImage: (run.cpuSeconds() * 1000) / count,
      peakMiB: run.peak(),
    }
  } finally {
    await env.close()
  }
}

/**
 * The memory of `pictura import` over `BENCH_IMPORT_MEMORY_BYTES` (default
 * 5 GiB) of files that are not images: each starts with random bytes and is
 * sparse beyond them, so they are made in no time and every one differs.
 */
export async function importMemoryPhase(
  cfg: BenchConfig,
  driver: 'sqlite' | 'postgres',
): Promise<ImportMemoryReport> {
  const fileSize = 256 * 1024 * 1024
  const count = Math.max(1, Math.round(cfg.importMemoryBytes / fileSize))
  const dir = path.join(cfg.dataDir, 'import-memory-source')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (let i = 0; i < count; i++) {
    const fd = openSync(path.join(dir, `archive-${i}.bin`), 'w')
    writeSync(fd, randomBytes(64 * 1024))
    writeSync(fd, Buffer.from([i]), 0, 1, fileSize - 1)
    closeSync(fd)
  }
  const env = await freshServer(cfg, driver, 'import-memory', {
    MAX_UPLOAD_BYTES: String(fileSize + 1024 * 1024),
  })
  try {
    const token = env.auth.authorization.slice('Bearer '.length)
    const started = performance.now()
    const run = runCli([
      'import',
      dir,
      '--workspace',
      env.workspaceId,
      '--url',
      env.server.url,
      '--token',
      token,
    ])
    const code = await run.exited
    const seconds = (performance.now() - started) / 1000
    if (code !== 0) throw new Error(`pictura import exited ${code}:\n${run.output().slice(-2000)}`)
    log(
      `${count} files of ${fileSize / 2 ** 20} MiB in ${seconds.toFixed(0)} s: CLI peak ${run.peak().toFixed(0)} MiB`,
    )
    return { files: count, bytes: count * fileSize, seconds, peak: run.peak(), hwm: run.hwm() }
  } finally {
    await env.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The built CLI as a child process, its memory and CPU sampled every 50 ms until it exits. */
function runCli(args: string[]) {
  // As the `pictura` command runs it (its shebang passes the same V8 flag).
  const child: ChildProcess = spawn(
    process.execPath,
    ['--max-semi-space-size=8', path.join(repoRoot, 'dist/src/main.js'), ...args],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000)
  })
  child.stderr!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000)
  })
  let peak = 0
  let hwm = 0
  let cpu = 0
  const sample = () => {
    try {
      const m = memoryOf(child.pid!)
      peak = Math.max(peak, m.rss)
      hwm = Math.max(hwm, m.hwm)
      cpu = cpuSecondsOf(child.pid!)
    } catch {}
  }
  const timer = setInterval(sample, 50)
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearInterval(timer)
      resolve(code)
    }),
  )
  return { exited, output: () => output, peak: () => peak, hwm: () => hwm, cpuSeconds: () => cpu }
}
