import type { FileObject, PicturaClient } from '../../client/index.js'

/** Up to this many files in the workspace, they are listed once at start instead of looked up one by one. */
const LIST_AT_MOST = 10_000

/**
 * Which contents a workspace already holds, by SHA-256: the whole workspace
 * listed once when it is small next to the import, else one indexed lookup
 * (`GET /api/files?sha256=`) a file.
 */
export class RemoteIndex {
  private constructor(
    private readonly client: PicturaClient,
    private readonly workspaceId: string,
    private readonly known: Map<string, FileObject> | null,
  ) {}

  static async open(client: PicturaClient, workspaceId: string, localCount: number): Promise<RemoteIndex> {
    const first = await client.files.list({ workspaceId, limit: 100 })
    const total = first.pageInfo.total
    if (total > Math.max(LIST_AT_MOST, 4 * localCount)) return new RemoteIndex(client, workspaceId, null)
    const known = new Map<string, FileObject>()
    const keep = (f: FileObject) => {
      if (!known.has(f.sha256)) known.set(f.sha256, f)
    }
    for (let page = first; ; ) {
      page.data.forEach(keep)
      if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) break
      page = await client.files.list({ workspaceId, limit: 100, after: page.pageInfo.endCursor })
    }
    return new RemoteIndex(client, workspaceId, known)
  }

  /** A file of the workspace with these bytes; `fresh` asks the server whatever was listed at start. */
  async find(sha256: string, fresh = false): Promise<FileObject | undefined> {
    if (this.known && !fresh) return this.known.get(sha256)
    const page = await this.client.files.list({ workspaceId: this.workspaceId, sha256, limit: 1 })
    return page.data[0]
  }
}
