import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, createFreshkey, dep, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { counting, freshNamespace, storeCases } from './helpers.ts'

for (const c of storeCases()) {
  describe(`near cache (${c.name})`, () => {
    const opened: (Freshkey | Store)[] = []
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close()
    })
    /** Two processes' instances on one store (one namespace), both with a near cache. */
    const pair = async (options: { heartbeatMs?: number; maxLagMs?: number } = {}) => {
      const inner = c.make()
      const probe = counting(inner)
      const namespace = freshNamespace('near')
      const a = createFreshkey({
        store: probe.store,
        namespace,
        logger: false,
        nearCache: { maxEntries: 100, ...options },
      })
      // Two clients of one Redis; for the in-process store, the same store.
      const second = c.name === 'memoryStore' ? inner : c.make()
      const b = createFreshkey({
        store: second,
        namespace,
        logger: false,
        nearCache: { maxEntries: 100, ...options },
      })
      opened.push(a, b, inner)
      if (second !== inner) opened.push(second)
      await vi.waitFor(() => expect(a.stats().nearCache?.live && b.stats().nearCache?.live).toBe(true), {
        timeout: 3000,
      })
      return { a, b, probe }
    }

    it('a hit makes no store call once the value is in process memory', async () => {
      const { a, probe } = await pair()
      let loads = 0
      const deps = [dep.row('users', 1)]
      await a.wrap('u1', () => ++loads, { deps })
      probe.reset()
      for (let i = 0; i < 50; i++) expect(await a.wrap('u1', () => ++loads, { deps })).toBe(1)
      expect(probe.calls.read).toBeUndefined()
      expect(a.stats().nearHits).toBe(50)
    })

    it("the writing process drops its own entries before the write's call returns (read-your-writes)", async () => {
      const { a } = await pair()
      let version = 1
      const deps = [dep.row('users', 2)]
      expect(await a.wrap('u2', () => version, { deps })).toBe(1)
      version = 2
      await a.changed({ table: 'users', kind: 'update', pk: 2 })
      expect(await a.wrap('u2', () => version, { deps })).toBe(2)
      // And through a fenced commit, before its settle returns.
      version = 3
      const tx = a.transaction()
      tx.record({ table: 'users', kind: 'update', pk: 2 })
      const prepared = tx.prepare()
      await prepared.ready
      await prepared.settle(true)
      expect(await a.wrap('u2', () => version, { deps })).toBe(3)
    })

    it('a read sent while the fence is on its way does not put the old value back (read-your-writes)', async () => {
      const inner = c.make()
      let gate: Promise<void> | undefined
      let open!: () => void
      // Holds the fence back: a read of this process runs between the local drop and the fence.
      const held = new Proxy(inner, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target)
          if (prop === 'bump')
            return async (request: Parameters<Store['bump']>[0]) => {
              if (gate) await gate
              // And no bump message: this process must not depend on hearing its own.
              const { channel: _channel, message: _message, ...rest } = request
              return target.bump(rest)
            }
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const a = createFreshkey({
        store: held,
        namespace: freshNamespace('near-gap'),
        logger: false,
        nearCache: { maxEntries: 100 },
      })
      opened.push(a, inner)
      await vi.waitFor(() => expect(a.stats().nearCache?.live).toBe(true), { timeout: 3000 })
      let version = 1
      const deps = [dep.row('users', 7)]
      const read = () => a.wrap('u7', () => version, { deps })
      expect(await read()).toBe(1)
      await a.changed({ table: 'users', kind: 'update', pk: 8 }) // the writer knows the table's schemes now
      gate = new Promise((r) => {
        open = r
      })
      const tx = a.transaction()
      tx.record({ table: 'users', kind: 'update', pk: 7 })
      const prepared = tx.prepare()
      await sleep(5) // the fence is waiting at the gate
      expect(await read()).toBe(1) // before the commit: the old value, from the store
      version = 2
      open()
      await prepared.ready
      await prepared.settle(true)
      expect(await read()).toBe(2)
    })

    it('another process drops its entry when the bump message arrives, and reports the delay', async () => {
      const { a, b } = await pair()
      let version = 1
      const deps = [dep.row('users', 3)]
      expect(await b.wrap('u3', () => version, { deps })).toBe(1)
      expect(await b.wrap('u3', () => version, { deps })).toBe(1)
      version = 2
      await a.changed({ table: 'users', kind: 'update', pk: 3 })
      await vi.waitFor(async () => expect(await b.wrap('u3', () => version, { deps })).toBe(2), {
        timeout: 2000,
      })
      const lag = b.stats().nearCache!.lagMs
      expect(lag.count).toBeGreaterThan(0)
      expect(lag.max).toBeLessThan(2000)
    })

    it('invalidateAll empties every near cache', async () => {
      const { a, b } = await pair()
      let version = 1
      await b.wrap('k', () => version, { deps: [dep.tag('t')] })
      version = 2
      await a.invalidateAll()
      await vi.waitFor(
        async () => expect(await b.wrap('k', () => version, { deps: [dep.tag('t')] })).toBe(2),
        {
          timeout: 2000,
        },
      )
    })

    it('while the subscription is down or lagging it serves nothing, then recovers', async () => {
      const { a } = await pair({ heartbeatMs: 50, maxLagMs: 200 })
      let loads = 0
      await a.wrap('lag', () => ++loads, { deps: [dep.row('x', 1)] })
      await a.wrap('lag', () => ++loads, { deps: [dep.row('x', 1)] })
      expect(a.stats().nearHits).toBe(1)
      // Block the event loop longer than maxLag: the pings arrive late, the near cache empties itself.
      const until = Date.now() + 400
      while (Date.now() < until) {
        // busy: no timers, no messages
      }
      await sleep(60)
      expect(a.stats().nearCache!.size).toBe(0)
      await vi.waitFor(() => expect(a.stats().nearCache!.live).toBe(true), { timeout: 3000 })
    })

    it('bounded: the least recently used entries go first', async () => {
      const inner = c.make()
      const fk = createFreshkey({
        store: inner,
        namespace: freshNamespace('near'),
        logger: false,
        nearCache: { maxEntries: 3 },
      })
      opened.push(fk, inner)
      await vi.waitFor(() => expect(fk.stats().nearCache?.live).toBe(true), { timeout: 3000 })
      for (let i = 0; i < 5; i++) await fk.wrap(`k${i}`, () => i, { deps: [dep.row('t', i)] })
      expect(fk.stats().nearCache!.size).toBe(3)
    })
  })
}

describe('near cache options', () => {
  it('refuse a store without pub/sub and malformed sizes, at once', () => {
    const store = memoryStore()
    const noPubSub = new Proxy(store, {
      get: (t, p) => (p === 'subscribe' || p === 'publish' ? undefined : Reflect.get(t, p, t)),
    })
    expect(() => createFreshkey({ store: noPubSub, namespace: 'n', nearCache: { maxEntries: 10 } })).toThrow(
      ConfigError,
    )
    expect(() => createFreshkey({ store, namespace: 'n', nearCache: { maxEntries: 0 } })).toThrow(ConfigError)
    expect(() => createFreshkey({ store, namespace: 'n', nearCache: { maxEntries: Number.NaN } })).toThrow(
      ConfigError,
    )
  })
})
