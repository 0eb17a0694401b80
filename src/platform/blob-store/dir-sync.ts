import { open } from 'node:fs/promises'

/** A folder's fsync in progress, and the one its later writers wait for. */
interface Syncs {
  running: Promise<void> | null
  next: Promise<void> | null
}

/**
 * fsync of directories, shared between concurrent writers: a rename is durable
 * once an fsync of its directory that started after it has finished. Several
 * uploads into one directory wait for the same fsync instead of one each: while
 * one runs, every caller joins the single next one, which starts when it ends.
 */
export class DirSync {
  private readonly dirs = new Map<string, Syncs>()

  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir)
    if (!state) {
      state = { running: null, next: null }
      this.dirs.set(dir, state)
    }
    if (state.next) return state.next
    if (!state.running) return this.start(dir, state)
    const after = () => {
      state.next = null
      return this.start(dir, state)
    }
    state.next = state.running.then(after, after)
    return state.next
  }

  private start(dir: string, state: Syncs) {
    const running = fsyncDir(dir).finally(() => {
      state.running = null
      if (!state.next) this.dirs.delete(dir)
    })
    state.running = running
    return running
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
