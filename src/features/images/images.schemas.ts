import { Type } from 'typebox'
import { DateTime, ListQuery } from '../../http/schemas.js'

// Parameter descriptions are the seed page's (seed/images.md), word for word.

const IMAGE_EXAMPLE = {
  id: 'img_01jdx3m2a4b6c8d0e2f4g6h8j0',
  fileId: 'fil_01jdx3k9z8y7x6w5v4t3s2r1q0',
  workspaceId: 'ws_01jdx3k6v8f2m9q4r7t5w0y1z2',
  cfImageId: 'b7c0f5e2d94a4c1f8e3a6d2c9b0e4f71',
  width: 3000,
  height: 4000,
  size: 5242880,
  exif: {
    Make: 'FUJIFILM',
    Model: 'X-T4',
    DateTimeOriginal: '2026-06-14T18:32:05',
    ExposureTime: 0.004,
    FNumber: 5.6,
    ISO: 160,
    FocalLength: 23,
    Orientation: 6,
  },
  thumbhash: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
  url: 'http://127.0.0.1:8787/cdn/b7c0f5e2d94a4c1f8e3a6d2c9b0e4f71/public',
  createdAt: '2026-11-26T12:00:01.000Z',
}

export const Image = Type.Object(
  {
    id: Type.String({ description: "The image's prefixed ID (e.g. `img_...`)." }),
    fileId: Type.String({ description: "The underlying file's prefixed ID (e.g. `fil_...`)." }),
    workspaceId: Type.String(),
    cfImageId: Type.String({ description: "The provider's id of the image." }),
    width: Type.Integer({ description: 'Display width in pixels, EXIF orientation applied.' }),
    height: Type.Integer({ description: 'Display height in pixels, EXIF orientation applied.' }),
    size: Type.Integer({ description: 'Byte size of the original file.' }),
    exif: Type.Object(
      {},
      {
        additionalProperties: true,
        description: 'Parsed EXIF tags by standard name; `{}` when none. GPS tags only with EXIF_GPS=true.',
      },
    ),
    thumbhash: Type.Union([Type.String(), Type.Null()], {
      description:
        'A [ThumbHash](https://evanw.github.io/thumbhash/) of the image (base64, about 25 bytes): a blurred placeholder to paint, in its aspect ratio, while the image loads. `null` for images provisioned before Pictura computed it.',
    }),
    url: Type.String({ description: 'Delivery URL of the `public` variant.' }),
    createdAt: DateTime,
  },
  { $id: 'Image', examples: [IMAGE_EXAMPLE] },
)

export const ImagePage = Type.Object(
  { data: Type.Array(Type.Ref('Image')), pageInfo: Type.Ref('PageInfo') },
  {
    examples: [
      {
        data: [IMAGE_EXAMPLE],
        pageInfo: {
          total: 1,
          hasNextPage: false,
          hasPreviousPage: false,
          startCursor: 'aW1hZ2VzCmltZ18wMWpkeDNtMmE0YjZjOGQwZTJmNGc2aDhqMA.Q2x3cHhZc0t1dE1vR2ZkVA',
          endCursor: 'aW1hZ2VzCmltZ18wMWpkeDNtMmE0YjZjOGQwZTJmNGc2aDhqMA.Q2x3cHhZc0t1dE1vR2ZkVA',
        },
      },
    ],
  },
)

export const ImagesListQuery = Type.Object(
  {
    ...ListQuery.properties,
    workspace_id: Type.Optional(
      Type.String({
        description:
          'Filter to images in this workspace. When omitted, returns images across every workspace the caller is a member of (admins see all).',
      }),
    ),
  },
  { additionalProperties: false },
)

export const ImageIdParams = (description: string) =>
  Type.Object(
    { id: Type.String({ description, examples: ['img_01jdx3m2a4b6c8d0e2f4g6h8j0'] }) },
    { additionalProperties: false },
  )

export const ByFileParams = Type.Object(
  {
    file_id: Type.String({
      description: "The underlying file's prefixed ID (e.g. `fil_...`).",
      examples: ['fil_01jdx3k9z8y7x6w5v4t3s2r1q0'],
    }),
  },
  { additionalProperties: false },
)

export const ProvisionBody = Type.Object(
  {
    fileId: Type.String({
      description: 'The file to provision (again), e.g. after a delete or a failure.',
      examples: ['fil_01jdx3k9z8y7x6w5v4t3s2r1q0'],
    }),
  },
  { additionalProperties: false, examples: [{ fileId: 'fil_01jdx3k9z8y7x6w5v4t3s2r1q0' }] },
)

export const DeleteResult = Type.Object({ success: Type.Boolean() }, { examples: [{ success: true }] })
