import { useEffect, useState } from 'preact/hooks'
import type { Member, PicturaClient, Token, Workspace, WorkspaceRole } from '../../client/index.js'
import { date } from './format.js'
import { CopyButton } from './lightbox.js'
import { describe } from './session.js'

const ROLES: WorkspaceRole[] = ['viewer', 'editor', 'owner']

/** How a member is shown: the API gives their email only to admins and to themself. */
const memberName = (m: Member) => m.name ?? m.email ?? m.userId

interface WorkspaceProps {
  client: PicturaClient
  workspace: Workspace | undefined
  isAdmin: boolean
  onRenamed: (w: Workspace) => void
  onUnauthorized: (err: unknown) => void
}

/** The workspace: its name (owners rename it) and, for owners, its members and their roles. */
export function WorkspaceView({ client, workspace, isAdmin, onRenamed, onUnauthorized }: WorkspaceProps) {
  if (!workspace)
    return (
      <section class="page" aria-labelledby="ws-title">
        <h1 id="ws-title">Workspace</h1>
        <p class="state empty">Choose a workspace in the header to manage it.</p>
      </section>
    )
  const owner = workspace.role === 'owner' || isAdmin
  return (
    <section class="page" aria-labelledby="ws-title">
      <h1 id="ws-title">Workspace “{workspace.name}”</h1>
      <p class="muted">
        Your role: {workspace.role ?? 'admin'} · created {date(workspace.createdAt)} · id{' '}
        <code>{workspace.id}</code>
      </p>
      {owner ? (
        <Rename client={client} workspace={workspace} onRenamed={onRenamed} onUnauthorized={onUnauthorized} />
      ) : null}
      {owner ? (
        <Members client={client} workspace={workspace} onUnauthorized={onUnauthorized} />
      ) : (
        <p class="muted">Only owners see and manage the members.</p>
      )}
    </section>
  )
}

function Rename({
  client,
  workspace,
  onRenamed,
  onUnauthorized,
}: {
  client: PicturaClient
  workspace: Workspace
  onRenamed: (w: Workspace) => void
  onUnauthorized: (err: unknown) => void
}) {
  const [name, setName] = useState(workspace.name)
  const [status, setStatus] = useState<string | null>(null)
  useEffect(() => setName(workspace.name), [workspace.name])
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault()
        try {
          onRenamed(await client.workspaces.rename(workspace.id, { name: name.trim() }))
          setStatus('Renamed.')
        } catch (err) {
          onUnauthorized(err)
          setStatus(describe(err))
        }
      }}
    >
      <label for="ws-name">Name</label>
      <input
        id="ws-name"
        value={name}
        onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit">Rename</button>
      {status ? <span role="status">{status}</span> : null}
    </form>
  )
}

function Members({
  client,
  workspace,
  onUnauthorized,
}: {
  client: PicturaClient
  workspace: Workspace
  onUnauthorized: (err: unknown) => void
}) {
  const [members, setMembers] = useState<Member[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [userId, setUserId] = useState('')
  const [role, setRole] = useState<WorkspaceRole>('viewer')
  const load = async () => {
    try {
      const all: Member[] = []
      for await (const m of client.workspaces.members.all(workspace.id)) all.push(m)
      setMembers(all)
      setError(null)
    } catch (err) {
      onUnauthorized(err)
      setError(describe(err))
    }
  }
  useEffect(() => {
    void load()
  }, [workspace.id])
  const change = async (call: () => Promise<unknown>) => {
    try {
      await call()
      await load()
    } catch (err) {
      onUnauthorized(err)
      setError(describe(err))
    }
  }
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {members === null ? <p class="muted">Loading…</p> : null}
      {members ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.userId}>
                  <td>
                    {memberName(m)} <span class="muted">{m.name && m.email ? m.email : ''}</span>
                  </td>
                  <td>
                    <select
                      aria-label={`Role of ${memberName(m)}`}
                      value={m.role}
                      onChange={(e) =>
                        change(() =>
                          client.workspaces.members.put(
                            workspace.id,
                            m.userId,
                            (e.currentTarget as HTMLSelectElement).value as WorkspaceRole,
                          ),
                        )
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => change(() => client.workspaces.members.remove(workspace.id, m.userId))}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault()
          void change(async () => {
            await client.workspaces.members.put(workspace.id, userId.trim(), role)
            setUserId('')
          })
        }}
      >
        <label for="member-id">Add a member by user id</label>
        <input
          id="member-id"
          placeholder="usr_…"
          value={userId}
          onInput={(e) => setUserId((e.currentTarget as HTMLInputElement).value)}
        />
        <select
          aria-label="Role of the new member"
          value={role}
          onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as WorkspaceRole)}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <button type="submit">Add</button>
      </form>
    </section>
  )
}

/** The user's tokens: create one (its secret is shown once), revoke any. */
export function TokensView({
  client,
  onUnauthorized,
}: {
  client: PicturaClient
  onUnauthorized: (err: unknown) => void
}) {
  const [tokens, setTokens] = useState<Token[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [secret, setSecret] = useState<string | null>(null)
  const [confirm, setConfirm] = useState<string | null>(null)
  const load = async () => {
    try {
      const all: Token[] = []
      for await (const t of client.tokens.all()) all.push(t)
      setTokens(all)
    } catch (err) {
      onUnauthorized(err)
      setError(describe(err))
    }
  }
  useEffect(() => {
    void load()
  }, [])
  const run = async (call: () => Promise<unknown>) => {
    try {
      await call()
      setError(null)
      await load()
    } catch (err) {
      onUnauthorized(err)
      setError(describe(err))
    }
  }
  return (
    <section class="page" aria-labelledby="tokens-title">
      <h1 id="tokens-title">API tokens</h1>
      <p class="muted">Tokens sign scripts, the CLI and this app in. Each one acts as you.</p>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault()
          void run(async () => {
            const created = await client.tokens.create({ name: name.trim() || 'web app' })
            setSecret(created.token)
            setName('')
          })
        }}
      >
        <label for="token-name">New token name</label>
        <input
          id="token-name"
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit">Create token</button>
      </form>
      {secret ? (
        <div class="secret" role="status">
          <p>
            <strong>Copy this token now: it is shown only once.</strong>
          </p>
          <input readOnly value={secret} aria-label="The new token" class="mono" />
          <CopyButton text={secret} label="Copy the new token" />
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {tokens === null ? <p class="muted">Loading…</p> : null}
      {tokens?.length === 0 ? <p class="state empty">No tokens.</p> : null}
      {tokens && tokens.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-token-id={t.id}>
                  <td>{t.name}</td>
                  <td>{date(t.createdAt)}</td>
                  <td>{t.expiresAt ? date(t.expiresAt) : 'never'}</td>
                  <td>
                    {confirm === t.id ? (
                      <>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => {
                            setConfirm(null)
                            void run(() => client.tokens.revoke(t.id))
                          }}
                        >
                          Revoke now
                        </button>
                        <button type="button" onClick={() => setConfirm(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <button type="button" class="danger" onClick={() => setConfirm(t.id)}>
                        Revoke…
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}
