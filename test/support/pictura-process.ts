import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** `pictura serve` and `pictura worker` as real child processes, started the way crash.test.ts does. */

const ROOT = path.resolve(import.meta.dirname, '../..')
const CONFIG_VARS = /^(NODE_TEST_CONTEXT|PORT|HOST|DATABASE_URL|DATA_DIR)$/

export interface PicturaProcess {
  proc: ChildProcess
  /** `http://127.0.0.1:<port>` of a `serve`; empty for a worker. */
  base: string
  /** The id a `worker` claims jobs under (it prints it on start); empty for a `serve`. */
  workerId: string
  exited: Promise<number | null>
  output: () => string
  /** SIGTERM, then the exit code (0 after a graceful stop). */
  stop: () => Promise<number | null>
}

/** The test runner's env without its own config (and node:test's marker), plus `env` on top. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  const inherited = Object.entries(process.env).filter(([k, v]) => v !== undefined && !CONFIG_VARS.test(k))
  return { ...(Object.fromEntries(inherited) as Record<string, string>), ...env }
}

/** Spawns `node --import tsx src/main.ts <command>` and resolves once it says it is ready. */
export async function startPictura(
  command: 'serve' | 'worker',
  env: Record<string, string>,
  // A ceiling, not a target: each child compiles the app with tsx, which takes long on a loaded machine.
  timeoutMs = 180_000,
): Promise<PicturaProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout?.on('data', (d) => {
    out += d
  })
  proc.stderr?.on('data', (d) => {
    out += d
  })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const ready = command === 'serve' ? /listening on (http:\/\/\S+)/ : /worker (\S+) running/
  const deadline = Date.now() + timeoutMs
  while (!ready.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill('SIGKILL')
      throw new Error(`pictura ${command} did not start:\n${out}`)
    }
    await sleep(20)
  }
  const captured = ready.exec(out)?.[1] ?? ''
  return {
    proc,
    base: command === 'serve' ? captured : '',
    workerId: command === 'worker' ? captured : '',
    exited,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      return exited
    },
  }
}

/** One JSON API call over real HTTP; a Buffer body goes as raw bytes (an upload). */
export async function apiCall(
  base: string,
  token: string,
  method: string,
  url: string,
  body?: Buffer | object,
) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json',
    },
    ...(body === undefined
      ? {}
      : { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
