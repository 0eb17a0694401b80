/**
 * The baseline's cursors: the row's id in base64url, unsigned. A baseline needs
 * no protection against forged cursors (a forged one only pages from another
 * id); Pictura signs its own (an HMAC a cursor), a cost the baseline leaves out.
 * The bench harness uses these too, to build the baseline's deep page and to
 * check which row a baseline cursor points at.
 */
export const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url')

export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString()
