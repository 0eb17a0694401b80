import { type Static, Type } from 'typebox'
import { DateTime, ListQuery, Nullable } from '../../http/schemas.js'
import type { FileTable } from '../../platform/db/tables.js'

const FILE_EXAMPLE = {
  id: 'fil_01jdx3k9z8y7x6w5v4t3s2r1q0',
  workspaceId: 'ws_01jdx3k6v8f2m9q4r7t5w0y1z2',
  name: 'IMG_0042.jpg',
  mime: 'image/jpeg',
  size: 5242880,
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  createdAt: '2026-11-26T12:00:00.000Z',
  createdBy: 'usr_01jdx3j0a1b2c3d4e5f6g7h8j9',
  image: { status: 'pending', id: null, error: null },
}

export const ImageState = Type.Object({
  status: Type.Union(
    [
      Type.Literal('none'),
      Type.Literal('pending'),
      Type.Literal('ready'),
      Type.Literal('failed'),
      Type.Literal('deleted'),
    ],
    { description: '`none` for files that are not raster images (SVG included).' },
  ),
  id: Nullable(Type.String({ description: 'The image (img_…) once ready.' })),
  error: Nullable(Type.String({ description: 'Why provisioning failed.' })),
})

export const FileObject = Type.Object(
  {
    id: Type.String(),
    workspaceId: Type.String(),
    name: Type.String({ description: 'The name given at upload, reduced to a safe display name.' }),
    mime: Type.String({ description: 'Sniffed from the content, never taken from the client.' }),
    size: Type.Integer({ description: 'Bytes.' }),
    sha256: Type.String({ description: 'Hex SHA-256 of the bytes; also the download ETag.' }),
    createdAt: DateTime,
    createdBy: Type.String({ description: 'The uploading user (usr_…).' }),
    image: ImageState,
  },
  { $id: 'File', examples: [FILE_EXAMPLE] },
)
export type FileObject = Static<typeof FileObject>

export const toFile = (r: FileTable): FileObject => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  mime: r.mime,
  size: Number(r.size),
  sha256: r.sha256,
  createdAt: r.created_at,
  createdBy: r.created_by,
  image: { status: r.image_status, id: r.image_id, error: r.image_error },
})

const WorkspaceId = Type.String({ description: 'The workspace (ws_…).' })

export const UploadQuery = Type.Object(
  {
    workspace_id: WorkspaceId,
    name: Type.Optional(
      // No maxLength: a longer name is cut to 255 characters rather than refused (the URL is bounded anyway).
      Type.String({ description: 'The file name; defaults to the multipart filename, else the file id.' }),
    ),
  },
  { additionalProperties: false },
)

export const FilesListQuery = Type.Object(
  {
    ...ListQuery.properties,
    workspace_id: Type.Optional(
      Type.String({
        description:
          'Only this workspace. Without it: every workspace the caller is a member of (admins: all).',
      }),
    ),
    mime: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        pattern: '^[\\x21-\\x7e]+$',
        description: 'Only files whose mime starts with this, such as `image/` or `image/png`.',
      }),
    ),
    sha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{64}$',
        description:
          'Only files with exactly these bytes: the hex SHA-256 of the content (either case). ' +
          'Uploads never de-duplicate; this lets a client check before it uploads.',
        examples: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
      }),
    ),
  },
  { additionalProperties: false },
)
export type FilesListQuery = Static<typeof FilesListQuery>

/** OpenAPI only: the upload body is read as a stream, never validated against this. */
export const UploadBodyDoc = {
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          file: {
            type: 'string',
            format: 'binary',
            description: 'The file; its filename is the default name.',
          },
        },
      },
    },
    '*/*': {
      schema: {
        type: 'string',
        format: 'binary',
        description: 'The raw bytes, under any content type but multipart/form-data (the type is ignored).',
      },
    },
  },
}
