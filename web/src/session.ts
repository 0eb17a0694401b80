import { createClient, type PicturaClient, PicturaError, type User } from '../../client/index.js'

/**
 * The token the app signs in with: the same bearer token a script uses, kept for
 * the tab (sessionStorage) or, when the user asks, on this device (localStorage).
 * It never goes into a URL. Signing out forgets it in both places.
 */
const KEY = 'pictura.token'

export interface Session {
  client: PicturaClient
  me: User
  token: string
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY)
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY)
  localStorage.removeItem(KEY)
}

function keep(token: string, remember: boolean): void {
  forgetToken()
  ;(remember ? localStorage : sessionStorage).setItem(KEY, token)
}

export const clientFor = (token: string): PicturaClient =>
  // The app is served by the API's own process: same origin, no CORS.
  createClient({ baseUrl: location.origin, token, retry: { retries: 2 } })

/** Checks the token with GET /api/me; keeps it only when the server accepts it. */
export async function signIn(token: string, remember: boolean | null): Promise<Session> {
  const client = clientFor(token)
  const me = await client.me()
  if (remember !== null) keep(token, remember)
  return { client, me, token }
}

/** A message a person can act on, for any failure of a call. */
export function describe(err: unknown): string {
  if (err instanceof PicturaError) {
    if (err.status === 401) return 'This token is not valid (wrong, expired or revoked). Sign in again.'
    if (err.code === 'network_error') return 'The server cannot be reached. Check your connection and retry.'
    return err.message || `The server answered ${err.status}`
  }
  return err instanceof Error ? err.message : String(err)
}

export const isUnauthorized = (err: unknown) => err instanceof PicturaError && err.status === 401
