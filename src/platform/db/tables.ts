import type { Generated } from 'kysely'

/** Row shapes of every table; snake_case as stored, mapped to the API by each feature. */
export type UserRole = 'admin' | 'member'
export type MemberRole = 'viewer' | 'editor' | 'owner'
export type ImageStatus = 'none' | 'pending' | 'ready' | 'failed' | 'deleted'

export interface UserTable {
  id: string
  email: string
  name: string | null
  role: UserRole
  created_at: string
}

export interface TokenTable {
  id: string
  user_id: string
  name: string
  hash: string
  created_at: string
  expires_at: string | null
}

export interface WorkspaceTable {
  id: string
  name: string
  created_at: string
}

export interface MemberTable {
  id: string
  workspace_id: string
  user_id: string
  role: MemberRole
  created_at: string
}

export interface FileTable {
  id: string
  workspace_id: string
  name: string
  mime: string
  size: number
  sha256: string
  blob_key: string
  created_at: string
  created_by: string
  image_status: ImageStatus
  image_id: string | null
  image_error: string | null
}

export interface ImageTable {
  id: string
  file_id: string
  workspace_id: string
  provider: string
  cf_image_id: string
  width: number
  height: number
  size: number
  /** JSON text of the public EXIF tags, served as is. */
  exif: string
  /** JSON text of the GPS tags, kept apart so they leave only when EXIF_GPS=true. */
  exif_gps: string | null
  /** Base64 thumbhash (a ~25-byte placeholder of the image), null for images provisioned before 2026-12-05. */
  thumbhash: string | null
  created_at: string
  /** The head of the image's JSON as the API answers it (features/images/image-json.ts). */
  json: string
  /** Its `public` variant's path below the provider's delivery base (ImageProvider.deliveryPath). */
  url_path: string
}

/** Exact per-workspace totals, changed in the same transaction as the rows they count. */
export interface WorkspaceCounterTable {
  workspace_id: string
  images: Generated<number>
  files: Generated<number>
}

export interface JobTable {
  id: string
  kind: string
  payload: string
  state: 'queued' | 'failed'
  run_at: number
  attempts: Generated<number>
  locked_until: number | null
  locked_by: string | null
  last_error: string | null
  created_at: string
}

export interface SettingTable {
  key: string
  value: string
}

export interface Database {
  users: UserTable
  tokens: TokenTable
  workspaces: WorkspaceTable
  members: MemberTable
  files: FileTable
  images: ImageTable
  workspace_counters: WorkspaceCounterTable
  jobs: JobTable
  settings: SettingTable
}
