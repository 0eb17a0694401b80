import { PicturaError } from './errors.js'
import type { components } from './schema.js'

type Image = components['schemas']['Image']
type FileObject = components['schemas']['File']

export interface WaitOptions {
  /** How long to wait in all (default 60 s); then it rejects with code `timeout`. */
  timeoutMs?: number
  /** The first poll's delay (default 100 ms); each next one waits half as long again, up to 2 s. */
  intervalMs?: number
  signal?: AbortSignal
}

/**
 * Polls the file until its image settles: resolves with the image once
 * `ready`; rejects with PicturaError `provisioning_failed` (the file's
 * `image.error` as message), `not_an_image`, `image_deleted`, or `timeout`.
 */
export async function waitForImage(
  api: { getFile: (id: string) => Promise<FileObject>; byFile: (fileId: string) => Promise<Image> },
  fileId: string,
  options: WaitOptions,
): Promise<Image> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let delay = options.intervalMs ?? 100
  for (;;) {
    if (options.signal?.aborted) throw new PicturaError(0, 'aborted', 'Waiting for the image was aborted')
    const file = await api.getFile(fileId)
    const { status, error } = file.image
    if (status === 'ready') return api.byFile(fileId)
    const details = { fileId, name: file.name, mime: file.mime }
    if (status === 'failed')
      throw new PicturaError(0, 'provisioning_failed', error ?? 'Provisioning failed', { ...details, error })
    if (status === 'none')
      throw new PicturaError(
        0,
        'not_an_image',
        `${file.name} is not an image the service provisions (${file.mime})`,
        details,
      )
    if (status === 'deleted')
      throw new PicturaError(0, 'image_deleted', `The image of ${file.name} was deleted`, details)
    const left = deadline - Date.now()
    if (left <= 0)
      throw new PicturaError(
        0,
        'timeout',
        `${file.name} was still being provisioned after ${options.timeoutMs ?? 60_000} ms`,
        details,
      )
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)))
    delay = Math.min(2_000, delay * 1.5)
  }
}
