import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReadCache } from '../../src/features/auth/admission.js'

/** A version source whose looks are counted and answered by the test. */
function versions() {
  const looks: ((version: string) => void)[] = []
  let onLook = () => {}
  const version = () =>
    new Promise<string | null>((resolve) => {
      looks.push(resolve)
      onLook()
    })
  return {
    version,
    looks,
    onLook: (f: () => void) => {
      onLook = f
    },
  }
}

test('requests that start in the same turn share one look at the version', async () => {
  const v = versions()
  const cache = new ReadCache(v.version)
  const snapshots = [cache.snapshot(), cache.snapshot(), cache.snapshot()]
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(v.looks.length, 1)
  v.looks[0]!('1')
  const [a, b] = await Promise.all(snapshots)
  let loads = 0
  const load = async () => ++loads
  assert.equal(await a!.through('k', load), 1)
  assert.equal(await b!.through('k', load), 1, 'the second request read what the first cached')
  assert.equal(loads, 1)
})

test('a request that starts once the look was sent waits for a look of its own', async () => {
  const v = versions()
  const cache = new ReadCache(v.version)
  let late: Promise<unknown> | undefined
  // The revocation commits and the next request starts while the first look is on its way.
  v.onLook(() => {
    v.onLook(() => {})
    late = cache.snapshot()
  })
  const early = cache.snapshot()
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(late, 'the second request started after the first look was sent')
  v.looks[0]!('1')
  const first = await early
  await first.through('token', async () => 'valid')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(v.looks.length, 2, 'the late request asked again')
  v.looks[1]!('2')
  const second = (await late) as Awaited<typeof early>
  assert.equal(await second.through('token', async () => 'revoked'), 'revoked')
})

test('a failed look fails the requests that shared it, and the next turn asks again', async () => {
  let calls = 0
  const cache = new ReadCache(async () => {
    calls += 1
    if (calls === 1) throw new Error('database down')
    return '1'
  })
  const results = await Promise.allSettled([cache.snapshot(), cache.snapshot()])
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  )
  const snapshot = await cache.snapshot()
  assert.equal(await snapshot.through('k', async () => 'v'), 'v')
  assert.equal(calls, 2)
})
