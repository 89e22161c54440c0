import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshkey, dep, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import type { BumpRequest } from '@freshkey/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'
import { counting, freshNamespace, storeCases } from './helpers.ts'

// Commits that do not wait (docs/design.md): a fence is sent in parallel with the database COMMIT;
// nothing is stored under a fenced token; the writer waits for no store round trip after the commit.

/** A one-row "database" whose commit the test holds open. */
function database(initial: string) {
  let value = initial
  return {
    read: async () => value,
    /** Resolves the commit when `release()` is called. */
    commit(next: string) {
      let release!: () => void
      const done = new Promise<void>((r) => {
        release = () => {
          value = next
          r()
        }
      })
      return { done, release }
    },
  }
}

/** Turns fences into plain bumps before the commit, and drops the lift: the design without fences. */
function unfenced(inner: Store): Store {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'bump')
        return (request: BumpRequest) => {
          const { fenceMs: _drop, ...plain } = request
          return target.bump(plain)
        }
      if (prop === 'lift') return async () => {}
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

for (const c of storeCases()) {
  describe(`fenced commits (${c.name})`, () => {
    const opened: (Freshkey | Store)[] = []
    const make = (wrapStore: (s: Store) => Store = (s) => s, options: { fenceMs?: number } = {}) => {
      const inner = c.make()
      const fk = createFreshkey({
        store: wrapStore(inner),
        namespace: freshNamespace('fence'),
        logger: false,
        ...options,
      })
      opened.push(fk, inner)
      return fk
    }
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close()
    })

    /** The interleaving the fence exists for: a reader loads during the commit, a reader after it. */
    async function race(fk: Freshkey) {
      const db = database('v1')
      const deps = [dep.row('posts', 1)]
      const read = () => fk.wrap('post:1', db.read, { deps })
      expect(await read()).toBe('v1')
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'update', pk: 1, changed: ['title'] })
      const prepared = tx.prepare() // right before COMMIT
      const commit = db.commit('v2')
      await prepared.ready
      const during = await read() // the reader's load sees the row before the commit
      commit.release()
      await commit.done
      await prepared.settle(true) // the writer's call returns here
      const after = await read() // started after the write returned: must be fresh
      return { during, after }
    }

    it('a value loaded while a commit is in flight is never stored: a read after the commit returned is fresh', async () => {
      const { during, after } = await race(make())
      expect(during).toBe('v1')
      expect(after).toBe('v2')
    })

    it('control: without the fence marker the same interleaving serves a stale value (the test can fail)', async () => {
      const { during, after } = await race(make(unfenced))
      expect(during).toBe('v1')
      expect(after).toBe('v1')
    })

    it('regression: a quicker commit on the same row does not end the fence of a slower one still under way', async () => {
      const fk = make()
      const db = database('v1')
      const deps = [dep.row('posts', 4)]
      const read = () => fk.wrap('post:4', db.read, { deps })
      expect(await read()).toBe('v1')
      const begin = () => {
        const tx = fk.transaction()
        tx.record({ table: 'posts', kind: 'update', pk: 4, changed: ['title'] })
        return tx.prepare()
      }
      const slow = begin()
      const slowCommit = db.commit('v3')
      await slow.ready
      const quick = begin()
      const quickCommit = db.commit('v2')
      await quick.ready
      quickCommit.release()
      await quickCommit.done
      await quick.settle(true)
      await fk.idle() // the quick commit's lift is done
      expect(await read()).toBe('v2') // loaded while the slow commit is in flight: must not be stored
      slowCommit.release()
      await slowCommit.done
      await slow.settle(true)
      expect(await read()).toBe('v3')
    })

    it('the writer waits for no store call after the database commit in the fast path', async () => {
      const inner = c.make()
      let liftSent = false
      let releaseLift!: () => void
      // A lift that hangs: settle must not wait for it.
      const slowLift = new Proxy(inner, {
        get(target, prop) {
          if (prop === 'lift')
            return (...args: Parameters<Store['lift']>) => {
              liftSent = true
              return new Promise<void>((r) => {
                releaseLift = () => r(target.lift(...args))
              })
            }
          const value = Reflect.get(target, prop, target)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const probe = counting(slowLift)
      const fk = createFreshkey({ store: probe.store, namespace: freshNamespace('fence'), logger: false })
      opened.push(fk, inner)
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'update', pk: 1, changed: ['title'] })
      const prepared = tx.prepare()
      await prepared.ready
      probe.reset()
      await prepared.settle(true)
      // The lift was sent (before any later read of this process) but not waited for.
      expect(liftSent).toBe(true)
      expect(probe.calls).toEqual({ lift: 1 })
      releaseLift()
      await fk.idle()
      let loads = 0
      await fk.wrap('after-lift', () => ++loads, { deps: [dep.row('posts', 1)] })
      await fk.wrap('after-lift', () => ++loads, { deps: [dep.row('posts', 1)] })
      expect(loads).toBe(1)
    })

    it('a commit slower than half the fence bumps again before it returns (the fence may have expired)', async () => {
      const fk = make((s) => s, { fenceMs: 200 })
      const db = database('v1')
      const deps = [dep.row('posts', 2)]
      const read = () => fk.wrap('post:2', db.read, { deps })
      await read()
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'update', pk: 2 })
      const prepared = tx.prepare()
      const commit = db.commit('v2')
      await prepared.ready
      await sleep(260) // the fence expired: its tokens are gone and a reader creates fresh ones
      expect(await read()).toBe('v1') // loaded before the commit, stored under the fresh token
      commit.release()
      await commit.done
      await prepared.settle(true)
      expect(await read()).toBe('v2')
    })

    it('a slow commit bumps again and still lifts its own fence: readers can store at once', async () => {
      const fk = make((s) => s, { fenceMs: 2000 })
      let loads = 0
      const deps = [dep.row('posts', 3)]
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'update', pk: 3 })
      const prepared = tx.prepare()
      await prepared.ready
      await sleep(1100) // slower than half the fence, well before its deadline
      await prepared.settle(true)
      await fk.idle()
      await fk.wrap('post:3', () => ++loads, { deps })
      await fk.wrap('post:3', () => ++loads, { deps })
      expect(loads).toBe(1)
    })

    it('a rolled back commit only costs misses: nothing stays fenced after the lift', async () => {
      const fk = make()
      let loads = 0
      const deps = [dep.row('posts', 3)]
      await fk.wrap('p3', () => ++loads, { deps })
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'delete', pk: 3 })
      const prepared = tx.prepare()
      await prepared.ready
      await prepared.settle(false)
      await fk.idle()
      expect(tx.state).toBe('rolledBack')
      await fk.wrap('p3', () => ++loads, { deps })
      await fk.wrap('p3', () => ++loads, { deps })
      expect(loads).toBe(2)
    })

    it('concurrent commits in one turn of the event loop share one store call, and each waits for its own commit', async () => {
      const probe = counting(c.make())
      const fk = createFreshkey({ store: probe.store, namespace: freshNamespace('fence'), logger: false })
      opened.push(fk, probe.store)
      probe.reset()
      const txs = Array.from({ length: 16 }, (_, i) => {
        const tx = fk.transaction()
        tx.record({ table: 'posts', kind: 'update', pk: 100 + i })
        return tx.prepare()
      })
      await Promise.all(txs.map((p) => p.ready))
      expect(probe.calls).toEqual({ bump: 1 })
      // Lifted only once the last of them settled: an early lift would let a reader store a value
      // loaded before the later commits.
      await Promise.all(txs.slice(0, 15).map((p) => p.settle(true)))
      await fk.idle()
      expect(probe.calls.lift).toBeUndefined()
      await txs[15]!.settle(true)
      await fk.idle()
      expect(probe.calls).toEqual({ bump: 1, lift: 1 })
    })
  })
}

describe('fenced commits when the store fails', () => {
  it('a fence that cannot be written falls back to bumping after the commit, and never rejects', async () => {
    const probe = counting(memoryStore())
    const fk = createFreshkey({ store: probe.store, namespace: freshNamespace('fence'), logger: false })
    try {
      const key = await fk.keyFor(dep.row('posts', 9))
      probe.failing.add('bump')
      const tx = fk.transaction()
      tx.record({ table: 'posts', kind: 'update', pk: 9 })
      const prepared = tx.prepare()
      await prepared.ready
      probe.failing.delete('bump')
      probe.reset()
      await expect(prepared.settle(true)).resolves.toBeUndefined()
      expect(probe.calls.bump).toBe(1)
      expect(await fk.keyFor(dep.row('posts', 9))).not.toBe(key)
    } finally {
      await fk.close()
    }
  })
})
