import createFetchClient, { type Client } from 'openapi-fetch'
import { PicturaError } from './errors.js'
import { everyRow, idList, type Page } from './paging.js'
import type { components, operations, paths } from './schema.js'
import { type Fetch, type RetryOptions, transport } from './transport.js'
import { type FileObject, type UploadOptions, type UploadSource, uploadFile } from './upload.js'
import { type WaitOptions, waitForImage } from './wait.js'

type Schemas = components['schemas']
export type Image = Schemas['Image']
export type Workspace = Schemas['Workspace']
export type Member = Schemas['Member']
export type User = Schemas['User']
export type Token = Schemas['Token']
export type WorkspaceRole = Member['role']
type BodyOf<Op extends keyof operations> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer B } }
}
  ? B
  : never
export type CreatedToken = operations['createToken']['responses'][201]['content']['application/json']

export interface ClientOptions {
  /** Where Pictura answers, such as `http://127.0.0.1:8787` (its PUBLIC_URL). */
  baseUrl: string
  /** A bearer token (`pic_…`). */
  token: string
  /** Retries of idempotent calls (GET, HEAD, PUT, DELETE) after network failures, 429 and 503; `false`: none. */
  retry?: RetryOptions | false
  /**
   * The fetch to send with (default: globalThis.fetch), e.g. to go through a proxy or record traffic.
   * Without one, uploads from Node go over node:http (a third of fetch's CPU an upload).
   */
  fetch?: Fetch
  /** Extra headers on every request. */
  headers?: Record<string, string>
}

/** Paging options every list takes; `ids` narrows to these ids (at most 100). */
export interface ListOptions {
  limit?: number
  after?: string
  before?: string
  ids?: readonly string[] | string
}
export interface ImageListOptions extends ListOptions {
  workspaceId?: string
}
export interface FileListOptions extends ListOptions {
  workspaceId?: string
  /** A type prefix, such as `image/`. */
  mime?: string
  /** Hex SHA-256: only files with exactly these bytes. */
  sha256?: string
}

/** The raw typed API (openapi-fetch over the generated `paths`): every route, errors thrown as PicturaError. */
export type RawApi = Client<paths>

/**
 * A Pictura client for Node 20+ and browsers:
 *
 *   const pictura = createClient({ baseUrl: 'http://127.0.0.1:8787', token })
 *   for await (const image of pictura.images.all({ workspaceId })) console.log(image.url)
 */
export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const headers = { ...options.headers, authorization: `Bearer ${options.token}` }
  const send = transport(options.fetch ?? ((request) => globalThis.fetch(request)), options.retry)
  const api: RawApi = createFetchClient<paths>({ baseUrl, headers, fetch: send })

  /** An answer's data: the transport has thrown for every failure, so a missing one is a bug of the server. */
  const data = async <T>(call: Promise<{ data?: T; response: Response }>): Promise<T> => {
    const { data, response } = await call
    if (data === undefined)
      throw new PicturaError(response.status, 'unexpected_response', 'The answer had no body')
    return data
  }
  const page = (o: ListOptions) => ({
    limit: o.limit,
    after: o.after,
    before: o.before,
    ids: idList(o.ids),
  })

  const images = {
    list: (o: ImageListOptions = {}): Promise<Page<Image>> =>
      data(api.GET('/api/images', { params: { query: { ...page(o), workspace_id: o.workspaceId } } })),
    /** Every image of the scope, each once, fetching pages of `limit` (default 100) as it goes. */
    all: (o: Omit<ImageListOptions, 'after' | 'before'> = {}): AsyncGenerator<Image> =>
      everyRow((after) => images.list({ ...o, after })),
    get: (id: string): Promise<Image> => data(api.GET('/api/images/{id}', { params: { path: { id } } })),
    byFile: (fileId: string): Promise<Image> =>
      data(api.GET('/api/images/by-file/{file_id}', { params: { path: { file_id: fileId } } })),
    delete: (id: string) => data(api.DELETE('/api/images/{id}', { params: { path: { id } } })),
    /** Provisions a file's image again (after a delete or a failure); answers the file, its image pending. */
    provision: (fileId: string): Promise<FileObject> => data(api.POST('/api/images', { body: { fileId } })),
  }

  const files = {
    list: (o: FileListOptions = {}): Promise<Page<FileObject>> =>
      data(
        api.GET('/api/files', {
          params: { query: { ...page(o), workspace_id: o.workspaceId, mime: o.mime, sha256: o.sha256 } },
        }),
      ),
    all: (o: Omit<FileListOptions, 'after' | 'before'> = {}): AsyncGenerator<FileObject> =>
      everyRow((after) => files.list({ ...o, after })),
    get: (id: string): Promise<FileObject> => data(api.GET('/api/files/{id}', { params: { path: { id } } })),
    /** The files of a scope with exactly these bytes (uploads never de-duplicate; this lets you decide). */
    findBySha256: async (sha256: string, o: { workspaceId?: string } = {}): Promise<FileObject[]> =>
      (await files.list({ sha256, workspaceId: o.workspaceId })).data,
    upload: (source: UploadSource, o: UploadOptions): Promise<FileObject> =>
      uploadFile({ baseUrl, headers, send, nodeHttp: options.fetch === undefined }, source, o),
    /**
     * The original bytes as a streamed Response (its body a ReadableStream). `range` asks for
     * `bytes=start-` or `bytes=start-end` (206); `ifRange` makes it whole again if the file changed.
     */
    download: (
      id: string,
      o: { range?: { start: number; end?: number }; ifRange?: string; signal?: AbortSignal } = {},
    ): Promise<Response> => {
      const h = new Headers(headers)
      if (o.range) h.set('range', `bytes=${o.range.start}-${o.range.end ?? ''}`)
      if (o.ifRange) h.set('if-range', o.ifRange)
      const url = `${baseUrl}/api/files/${encodeURIComponent(id)}/content`
      return send(new Request(url, { headers: h, signal: o.signal }))
    },
    delete: (id: string) => data(api.DELETE('/api/files/{id}', { params: { path: { id } } })),
  }

  const workspaces = {
    list: (o: ListOptions = {}): Promise<Page<Workspace>> =>
      data(api.GET('/api/workspaces', { params: { query: page(o) } })),
    all: (o: Omit<ListOptions, 'after' | 'before'> = {}): AsyncGenerator<Workspace> =>
      everyRow((after) => workspaces.list({ ...o, after })),
    get: (id: string): Promise<Workspace> =>
      data(api.GET('/api/workspaces/{id}', { params: { path: { id } } })),
    create: (body: BodyOf<'createWorkspace'>): Promise<Workspace> =>
      data(api.POST('/api/workspaces', { body })),
    rename: (id: string, body: BodyOf<'renameWorkspace'>): Promise<Workspace> =>
      data(api.PATCH('/api/workspaces/{id}', { params: { path: { id } }, body })),
    delete: (id: string) => data(api.DELETE('/api/workspaces/{id}', { params: { path: { id } } })),
    members: {
      list: (id: string, o: ListOptions = {}): Promise<Page<Member>> =>
        data(api.GET('/api/workspaces/{id}/members', { params: { path: { id }, query: page(o) } })),
      all: (id: string, o: Omit<ListOptions, 'after' | 'before'> = {}): AsyncGenerator<Member> =>
        everyRow((after) => workspaces.members.list(id, { ...o, after })),
      /** Adds the user with this role, or changes the role of a member. */
      put: (id: string, userId: string, role: WorkspaceRole): Promise<Member> =>
        data(
          api.PUT('/api/workspaces/{id}/members/{user_id}', {
            params: { path: { id, user_id: userId } },
            body: { role },
          }),
        ),
      remove: (id: string, userId: string) =>
        data(
          api.DELETE('/api/workspaces/{id}/members/{user_id}', { params: { path: { id, user_id: userId } } }),
        ),
    },
  }

  const users = {
    list: (o: ListOptions = {}): Promise<Page<User>> =>
      data(api.GET('/api/users', { params: { query: page(o) } })),
    all: (o: Omit<ListOptions, 'after' | 'before'> = {}): AsyncGenerator<User> =>
      everyRow((after) => users.list({ ...o, after })),
    get: (id: string): Promise<User> => data(api.GET('/api/users/{id}', { params: { path: { id } } })),
    create: (body: BodyOf<'createUser'>): Promise<User> => data(api.POST('/api/users', { body })),
    delete: (id: string) => data(api.DELETE('/api/users/{id}', { params: { path: { id } } })),
  }

  const tokens = {
    list: (o: ListOptions = {}): Promise<Page<Token>> =>
      data(api.GET('/api/tokens', { params: { query: page(o) } })),
    all: (o: Omit<ListOptions, 'after' | 'before'> = {}): AsyncGenerator<Token> =>
      everyRow((after) => tokens.list({ ...o, after })),
    /** Mints a token; its secret (`token`) is in this answer only. */
    create: (body: BodyOf<'createToken'>): Promise<CreatedToken> => data(api.POST('/api/tokens', { body })),
    revoke: (id: string) => data(api.DELETE('/api/tokens/{id}', { params: { path: { id } } })),
  }

  return {
    /** Every route of the API, typed from the OpenAPI document: `await api.GET('/api/images/{id}', …)`. */
    api,
    baseUrl,
    me: (): Promise<User> => data(api.GET('/api/me')),
    images,
    files,
    workspaces,
    users,
    tokens,
    /** Uploads a path, a Blob or a stream into a workspace, streaming; see UploadOptions. */
    uploadFile: files.upload,
    /** Resolves with the file's image once provisioned; rejects with the provisioning error. */
    waitForImage: (fileId: string, o: WaitOptions = {}): Promise<Image> =>
      waitForImage({ getFile: files.get, byFile: images.byFile }, fileId, o),
  }
}

export type PicturaClient = ReturnType<typeof createClient>
