import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface SmallDisk {
  dir: string
  /** Writes a filler file until the file system says ENOSPC. */
  fill(): void
  /** Removes the filler: the space is back. */
  free(): void
  close(): void
}

/**
 * A real small file system: a tmpfs of `sizeMiB` mounted on a temp folder
 * (CI runs as root). Null where mounting is not permitted; the caller then
 * falls back to a store that fails with ENOSPC.
 */
export function smallDisk(sizeMiB: number): SmallDisk | null {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictura-small-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    rmSync(dir, { recursive: true, force: true })
    return null
  }
  const filler = path.join(dir, 'filler')
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a')
      try {
        // Big chunks first, then ever smaller ones, down to the last free byte.
        for (let size = 1024 * 1024; size >= 1; size = Math.floor(size / 2)) {
          const chunk = Buffer.alloc(size, 1)
          for (;;) {
            try {
              writeSync(fd, chunk)
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
              break
            }
          }
        }
      } finally {
        closeSync(fd)
      }
    },
    free() {
      unlinkSync(filler)
    },
    close() {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
