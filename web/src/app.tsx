import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import type { Workspace } from '../../client/index.js'
import { FilesView } from './files-view.js'
import { Gallery, type GalleryHandle } from './gallery.js'
import type { ImageList } from './image-list.js'
import { Lightbox } from './lightbox.js'
import { describe, forgetToken, isUnauthorized, type Session, signIn, storedToken } from './session.js'
import { TokensView, WorkspaceView } from './settings.js'
import { SignIn } from './signin.js'
import { UploadPanel } from './upload-panel.js'
import { Uploads } from './uploads.js'

const REFUSED = 'Your token was refused: it is wrong, expired or has been revoked. Sign in again.'

export function App() {
  const [session, setSession] = useState<Session | null>(null)
  const [checking, setChecking] = useState(() => storedToken() !== null)
  const [message, setMessage] = useState<string | null>(null)

  useEffect(() => {
    const token = storedToken()
    if (!token) return
    signIn(token, null)
      .then(setSession)
      .catch((err) => {
        if (isUnauthorized(err)) {
          forgetToken()
          setMessage(REFUSED)
        } else setMessage(describe(err))
      })
      .finally(() => setChecking(false))
  }, [])

  if (checking) return <p class="state">Signing in…</p>
  if (!session)
    return (
      <SignIn
        message={message}
        onSession={(s) => {
          setMessage(null)
          setSession(s)
        }}
      />
    )
  return (
    <Shell
      key={session.token}
      session={session}
      onSignOut={(why) => {
        forgetToken()
        setMessage(why)
        setSession(null)
      }}
    />
  )
}

type View = 'gallery' | 'files' | 'workspace' | 'tokens'
const VIEWS: [View, string][] = [
  ['gallery', 'Gallery'],
  ['files', 'Files'],
  ['workspace', 'Workspace'],
  ['tokens', 'Tokens'],
]
const WORKSPACE_KEY = 'pictura.workspace'
/** The switcher's value for every workspace the user sees (the gallery and files of all of them). */
const ALL = '*'

function Shell({ session, onSignOut }: { session: Session; onSignOut: (why: string | null) => void }) {
  const { client, me } = session
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null)
  const [loadError, setLoadError] = useState<string | null>(null)
  const [current, setCurrent] = useState<string>(() => localStorage.getItem(WORKSPACE_KEY) ?? '')
  const [view, setView] = useState<View>('gallery')
  const [version, setVersion] = useState(0)
  const [open, setOpen] = useState<{ index: number; list: ImageList } | null>(null)
  const [dragging, setDragging] = useState(false)
  const dirty = useRef(false)
  const lightboxOpen = useRef(false)
  lightboxOpen.current = open !== null
  const gallery = useRef<GalleryHandle | null>(null)
  const picker = useRef<HTMLInputElement>(null)

  const unauthorized = (err: unknown) => {
    if (isUnauthorized(err)) onSignOut(REFUSED)
  }
  const uploads = useMemo(
    () =>
      new Uploads(
        client,
        () => {
          if (lightboxOpen.current) dirty.current = true
          else setVersion((v) => v + 1)
        },
        unauthorized,
      ),
    [client],
  )

  const loadWorkspaces = async () => {
    try {
      const all: Workspace[] = []
      for await (const w of client.workspaces.all()) all.push(w)
      setWorkspaces(all)
      setLoadError(null)
      if (current !== ALL && !all.some((w) => w.id === current)) setCurrent(all[0]?.id ?? '')
    } catch (err) {
      unauthorized(err)
      setLoadError(describe(err))
    }
  }
  useEffect(() => {
    void loadWorkspaces()
  }, [])
  useEffect(() => {
    if (current) localStorage.setItem(WORKSPACE_KEY, current)
  }, [current])

  const workspace = workspaces?.find((w) => w.id === current)
  const scope = current && current !== ALL ? current : undefined
  /** Whether the user may change what is in a workspace (editors, owners, admins). */
  const canEditIn = (id: string | undefined) => {
    const role = workspaces?.find((w) => w.id === id)?.role
    return me.role === 'admin' || role === 'owner' || role === 'editor'
  }
  const canEdit = canEditIn(workspace?.id)

  const addFiles = (files: FileList | File[] | null | undefined) => {
    if (!files || files.length === 0) return
    if (!workspace) return
    uploads.add([...files], workspace.id)
  }

  // Drop anywhere on the page: one set of listeners, calling this render's addFiles.
  const add = useRef(addFiles)
  add.current = addFiles
  useEffect(() => {
    let depth = 0
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return
      depth++
      setDragging(true)
    }
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return
      depth = Math.max(0, depth - 1)
      if (depth === 0) setDragging(false)
    }
    const over = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault()
    }
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return
      e.preventDefault()
      depth = 0
      setDragging(false)
      add.current(e.dataTransfer?.files)
    }
    window.addEventListener('dragenter', enter)
    window.addEventListener('dragleave', leave)
    window.addEventListener('dragover', over)
    window.addEventListener('drop', drop)
    return () => {
      window.removeEventListener('dragenter', enter)
      window.removeEventListener('dragleave', leave)
      window.removeEventListener('dragover', over)
      window.removeEventListener('drop', drop)
    }
  }, [])

  const closeLightbox = () => {
    const index = open?.index ?? 0
    setOpen(null)
    if (dirty.current) {
      dirty.current = false
      setVersion((v) => v + 1)
    }
    // Back to the same tile, without moving the grid when it is in view.
    requestAnimationFrame(() => gallery.current?.focusTile(index))
  }

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand" aria-hidden="true">
          Pictura
        </span>
        <div class="ws-switch">
          <label for="ws-select" class="sr-only">
            Workspace
          </label>
          <select
            id="ws-select"
            value={current}
            disabled={!workspaces || workspaces.length === 0}
            onChange={(e) => setCurrent((e.currentTarget as HTMLSelectElement).value)}
          >
            {(workspaces ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
            {workspaces && workspaces.length > 1 ? <option value={ALL}>All workspaces</option> : null}
          </select>
          <CreateWorkspace
            onCreate={async (name) => {
              const w = await client.workspaces.create({ name })
              await loadWorkspaces()
              setCurrent(w.id)
              setView('gallery')
            }}
          />
        </div>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map(([v, label]) => (
              <li key={v}>
                <button
                  type="button"
                  class={view === v ? 'tab active' : 'tab'}
                  aria-current={view === v ? 'page' : undefined}
                  onClick={() => setView(v)}
                >
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div class="me">
          <button
            type="button"
            class="primary"
            disabled={!workspace || !canEdit}
            title={workspace ? undefined : 'Choose a workspace to upload into'}
            onClick={() => picker.current?.click()}
          >
            Upload
          </button>
          <input
            ref={picker}
            type="file"
            multiple
            hidden
            aria-label="Files to upload"
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement
              addFiles(input.files)
              input.value = ''
            }}
          />
          <span class="who" title={me.email}>
            {me.name ?? me.email}
          </span>
          <button type="button" onClick={() => onSignOut(null)}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" class="main">
        {loadError ? (
          <div class="state error" role="alert">
            <p>The workspaces could not be loaded: {loadError}</p>
            <button type="button" onClick={loadWorkspaces}>
              Retry
            </button>
          </div>
        ) : workspaces === null ? (
          <p class="state">Loading workspaces…</p>
        ) : workspaces.length === 0 && view !== 'tokens' ? (
          <FirstWorkspace
            onCreate={async (name) => {
              const w = await client.workspaces.create({ name })
              await loadWorkspaces()
              setCurrent(w.id)
            }}
          />
        ) : view === 'gallery' ? (
          <Gallery
            client={client}
            workspaceId={scope}
            version={version}
            handle={(h) => {
              gallery.current = h
            }}
            onOpen={(index, list) => setOpen({ index, list })}
            onUnauthorized={unauthorized}
            onUpload={() => picker.current?.click()}
          />
        ) : view === 'files' ? (
          <FilesView
            client={client}
            workspaceId={scope}
            version={version}
            canEditIn={canEditIn}
            onChanged={() => setVersion((v) => v + 1)}
            onUnauthorized={unauthorized}
          />
        ) : view === 'workspace' ? (
          <WorkspaceView
            client={client}
            workspace={workspace}
            isAdmin={me.role === 'admin'}
            onRenamed={(w) =>
              setWorkspaces((all) => (all ?? []).map((x) => (x.id === w.id ? { ...x, ...w } : x)))
            }
            onUnauthorized={unauthorized}
          />
        ) : (
          <TokensView client={client} onUnauthorized={unauthorized} />
        )}
      </main>
      <UploadPanel uploads={uploads} />
      {open ? (
        <Lightbox
          client={client}
          list={open.list}
          index={open.index}
          canEdit={canEditIn(open.list.get(open.index)?.workspaceId)}
          onIndex={(index) => setOpen({ ...open, index })}
          onClose={closeLightbox}
          onChanged={() => {
            dirty.current = true
          }}
        />
      ) : null}
      {dragging ? (
        <div class="dropzone" aria-hidden="true">
          <p>{workspace ? `Drop to upload into “${workspace.name}”` : 'Choose a workspace to upload into'}</p>
        </div>
      ) : null}
    </div>
  )
}

function CreateWorkspace({ onCreate }: { onCreate: (name: string) => Promise<void> }) {
  const [editing, setEditing] = useState(false)
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  if (!editing)
    return (
      <button type="button" onClick={() => setEditing(true)}>
        New workspace
      </button>
    )
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault()
        try {
          await onCreate(name.trim())
          setEditing(false)
          setName('')
          setError(null)
        } catch (err) {
          setError(describe(err))
        }
      }}
    >
      <label for="new-ws" class="sr-only">
        New workspace name
      </label>
      <input
        id="new-ws"
        placeholder="Workspace name"
        value={name}
        // biome-ignore lint/a11y/noAutofocus: the user just asked for this field
        autoFocus
        onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit">Create</button>
      <button type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
      {error ? (
        <span class="error" role="alert">
          {error}
        </span>
      ) : null}
    </form>
  )
}

function FirstWorkspace({ onCreate }: { onCreate: (name: string) => Promise<void> }) {
  const [name, setName] = useState('Photos')
  const [error, setError] = useState<string | null>(null)
  return (
    <section class="state empty card" aria-labelledby="first-title">
      <h1 id="first-title">No workspace yet</h1>
      <p>Images live in workspaces. Create one to start uploading.</p>
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault()
          try {
            await onCreate(name.trim())
          } catch (err) {
            setError(describe(err))
          }
        }}
      >
        <label for="first-ws">Workspace name</label>
        <input
          id="first-ws"
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="primary">
          Create workspace
        </button>
      </form>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  )
}
