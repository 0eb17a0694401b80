/**
 * Pictura's typed client: `createClient({ baseUrl, token })`. The types of
 * every route come from the server's OpenAPI document (schema.d.ts, generated
 * and committed); this layer adds what types cannot say: errors thrown as one
 * class, retries, paging iterators, streamed uploads with progress, and
 * waiting for an image. It depends on openapi-fetch and nothing of the server.
 */
export {
  type ClientOptions,
  type CreatedToken,
  createClient,
  type FileListOptions,
  type Image,
  type ImageListOptions,
  type ListOptions,
  type Member,
  type PicturaClient,
  type RawApi,
  type Token,
  type User,
  type Workspace,
  type WorkspaceRole,
} from './client.js'
export { type ApiErrorCode, type ClientErrorCode, PicturaError, type PicturaErrorCode } from './errors.js'
export type { Page, PageInfo } from './paging.js'
export type { components, operations, paths } from './schema.js'
export type { Fetch, RetryOptions } from './transport.js'
export type { FileObject, UploadOptions, UploadProgress, UploadSource } from './upload.js'
export type { WaitOptions } from './wait.js'
