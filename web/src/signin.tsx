import { useState } from 'preact/hooks'
import { describe, type Session, signIn } from './session.js'

/** Sign in with a token (`pic_…`): kept for this tab, or on this device when asked. */
export function SignIn({ message, onSession }: { message: string | null; onSession: (s: Session) => void }) {
  const [token, setToken] = useState('')
  const [remember, setRemember] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    const value = token.trim()
    if (!value) {
      setError('Paste a token first.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      onSession(await signIn(value, remember))
    } catch (err) {
      setError(describe(err))
    } finally {
      setBusy(false)
    }
  }

  const shown = error ?? message
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} aria-labelledby="signin-title" class="card">
        <h1 id="signin-title">Sign in to Pictura</h1>
        <p class="muted">
          Use an API token: the one printed at the first start, or one from <code>pictura token create</code>.
        </p>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          placeholder="pic_…"
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={shown ? 'signin-error' : undefined}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember((e.currentTarget as HTMLInputElement).checked)}
          />{' '}
          Remember on this device
        </label>
        {shown ? (
          <p id="signin-error" class="error" role="alert">
            {shown}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
