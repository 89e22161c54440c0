import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  ConfigError,
  cached,
  createFreshkey,
  dep,
  type Freshkey,
  memoryStore,
  NotCachedError,
  SerializationError,
  type Store,
} from '@freshkey/core'
import { addResolver, Binding, ResultCache } from '@freshkey/core/adapter'
import { redisStore } from '@freshkey/redis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { serviceUrl } from './support/services.ts'

let seq = 0
const redisUrl = serviceUrl('REDIS_URL')
const backends: [string, () => Store][] = [['memoryStore', () => memoryStore()]]
if (redisUrl) backends.push(['redisStore', () => redisStore(redisUrl)])

/** Counts loader calls and lets a test hold a loader open. */
function counter<T>(value: () => T) {
  const calls = { n: 0 }
  const fn = async () => {
    calls.n++
    return value()
  }
  return Object.assign(fn, { calls })
}

describe.each(backends)('value cache on %s', (_name, makeStore) => {
  const stores: Store[] = []
  const make = (options: Partial<Parameters<typeof createFreshkey>[0]> = {}): Freshkey => {
    const store = makeStore()
    stores.push(store)
    return createFreshkey({ store, namespace: `vc-${process.pid}-${seq++}`, ...options })
  }
  afterAll(async () => {
    for (const s of stores) await s.close()
  })

  it('wrap loads once, then hits until a dependency is bumped', async () => {
    const fk = make()
    const load = counter(() => ({ n: 1 }))
    expect(await fk.wrap(['v', dep.row('users', 1)], load)).toEqual({ n: 1 })
    expect(await fk.wrap(['v', dep.row('users', 1)], load)).toEqual({ n: 1 })
    expect(load.calls.n).toBe(1)
    await fk.changed({ table: 'users', kind: 'update', pk: 2 })
    await fk.wrap(['v', dep.row('users', 1)], load)
    expect(load.calls.n).toBe(1)
    await fk.changed({ table: 'users', kind: 'update', pk: 1 })
    await fk.wrap(['v', dep.row('users', 1)], load)
    expect(load.calls.n).toBe(2)
    expect(fk.stats()).toMatchObject({ hits: 2, misses: 2, loads: 2 })
  })

  it('wrap with a string key is readable with get and expires by ttl', async () => {
    const fk = make()
    expect(await fk.wrap('home', () => 'v1', { ttl: 0.3 })).toBe('v1')
    expect(await fk.get('home')).toBe('v1')
    expect(await fk.has('home')).toBe(true)
    await sleep(450)
    expect(await fk.get('home')).toBeUndefined()
    expect(await fk.wrap('home', () => 'v2')).toBe('v2')
  })

  it('get/set/has/delete with declared dependencies', async () => {
    const fk = make()
    expect(await fk.set('profile:1', { name: 'Ann' }, { deps: [dep.row('users', 1), 'teams#3'] })).toBe(true)
    expect(await fk.get('profile:1')).toEqual({ name: 'Ann' })
    await fk.changed({ table: 'teams', kind: 'delete', pk: '3' })
    expect(await fk.get('profile:1')).toBeUndefined()
    expect(await fk.has('profile:1')).toBe(false)
    await fk.set('profile:1', 'again')
    expect(await fk.get('profile:1')).toBe('again')
    await fk.delete('profile:1')
    expect(await fk.get('profile:1')).toBeUndefined()
  })

  it('set with a snapshot taken before the load refuses to store after a concurrent commit', async () => {
    const fk = make()
    const snap = await fk.snapshot([dep.table('posts')])
    await fk.changed({ table: 'posts', kind: 'insert', pk: 9 })
    expect(await fk.set('posts-list', ['old'], { deps: [dep.table('posts')], snapshot: snap })).toBe(false)
    expect(await fk.get('posts-list')).toBeUndefined()
    await expect(fk.set('x', 1, { deps: [dep.table('other')], snapshot: snap })).rejects.toBeInstanceOf(
      ConfigError,
    )
  })

  it('group keys: one invalidate expires every entry of the group, entries may be in many groups', async () => {
    const fk = make()
    for (let i = 0; i < 50; i++) {
      await fk.set(`e${i}`, i, { deps: [dep.tag(i % 2 ? 'odd' : 'even'), dep.tag('all-numbers')] })
    }
    await fk.invalidate(dep.tag('odd'))
    for (let i = 0; i < 50; i++) expect(await fk.get(`e${i}`)).toBe(i % 2 ? undefined : i)
    await fk.invalidate(dep.tag('all-numbers'))
    for (let i = 0; i < 50; i += 2) expect(await fk.get(`e${i}`)).toBeUndefined()
  })

  it('1,000 concurrent wraps of one cold key run the loader once', async () => {
    const fk = make()
    const load = counter(async () => {
      await sleep(30)
      return 'v'
    })
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => fk.wrap(['v', dep.row('hot', 1)], load)),
    )
    expect(new Set(results)).toEqual(new Set(['v']))
    expect(load.calls.n).toBe(1)
  })

  it('compare-and-set: a loader that read before a concurrent commit never stores its value as fresh', async () => {
    const fk = make()
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let started!: () => void
    const loading = new Promise<void>((r) => {
      started = r
    })
    const slow = fk.wrap(
      'cas',
      async () => {
        started()
        await gate
        return 'old'
      },
      { deps: [dep.row('users', 5)], staleWhileRevalidate: 60 },
    )
    await loading // tokens were read before the loader ran
    await fk.changed({ table: 'users', kind: 'update', pk: 5 })
    release()
    expect(await slow).toBe('old') // the caller that started before the commit gets its own load
    // Nothing was written: not even as a stale entry that stale-while-revalidate could serve.
    const raw = await fk.store.read({ entry: fk.keyspace.value('u:cas'), keys: [], ttl: 60 })
    expect(raw.entry).toBeUndefined()
    const load = counter(() => 'new')
    expect(await fk.wrap('cas', load, { deps: [dep.row('users', 5)], staleWhileRevalidate: 60 })).toBe('new')
    expect(load.calls.n).toBe(1)
  })

  it('a wrap that starts after a commit returned never joins a load started before it', async () => {
    const fk = make()
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let started!: () => void
    const loading = new Promise<void>((r) => {
      started = r
    })
    const early = fk.wrap(['v', dep.row('users', 6)], async () => {
      started()
      await gate
      return 'before-commit'
    })
    await loading
    await fk.changed({ table: 'users', kind: 'update', pk: 6 })
    const late = fk.wrap(['v', dep.row('users', 6)], async () => 'after-commit')
    release()
    expect(await early).toBe('before-commit')
    expect(await late).toBe('after-commit')
  })

  it('a caller whose read took the lease but joins a flight started meanwhile releases the lease', async () => {
    // Two misses in one tick both ask for the lease; the holder's reply comes back second, so the
    // other caller has started the flight (waiting for the lease) and the holder joins it. Kept,
    // the lease held both until it expired (5 s per miss under concurrent writes).
    const inner = makeStore()
    stores.push(inner)
    let reads = 0
    let first = true
    const store = new Proxy(inner, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target)
        if (prop !== 'read') return typeof value === 'function' ? value.bind(target) : value
        return async (request: Parameters<Store['read']>[0]) => {
          reads++
          const delay = first
          first = false
          const result = await target.read(request)
          if (delay) await sleep(30)
          return result
        }
      },
    })
    const fk = createFreshkey({ store, namespace: `vc-join-${process.pid}-${seq++}`, leaseMs: 10_000 })
    const load = counter(() => 'v')
    const results = await Promise.all([
      fk.wrap(['j', dep.row('users', 70)], load),
      fk.wrap(['j', dep.row('users', 70)], load),
    ])
    expect(results).toEqual(['v', 'v'])
    expect(load.calls.n).toBe(1)
    // The waiting caller polls (10 ms, then longer) only until the holder's reply arrives and it
    // lets go; with the lease kept it polled until leaseMs (over 100 reads here).
    expect(reads).toBeLessThan(10)
    await fk.close()
  })

  it('loader errors propagate, are not cached, and release the lease', async () => {
    const fk = make({ leaseMs: 10_000 })
    await expect(
      fk.wrap(['v', dep.row('users', 7)], async () => {
        throw new Error('db down')
      }),
    ).rejects.toThrow('db down')
    const t0 = Date.now()
    expect(await fk.wrap(['v', dep.row('users', 7)], () => 'ok')).toBe('ok')
    expect(Date.now() - t0).toBeLessThan(1000) // no wait for a stale lease
    expect(fk.stats().loadErrors).toBe(1)
  })

  it('stale-while-revalidate serves the previous value exactly while one refresh runs', async () => {
    const fk = make()
    let version = 1
    let release!: () => void
    let gate: Promise<void> = Promise.resolve()
    const load = counter(async () => {
      await gate
      return `v${version}`
    })
    const opts = { ttl: 60, staleWhileRevalidate: 60 }
    expect(await fk.wrap(['v', dep.row('pages', 1)], load, opts)).toBe('v1')
    version = 2
    gate = new Promise<void>((r) => {
      release = r
    })
    await fk.changed({ table: 'pages', kind: 'update', pk: 1 })
    const during = await Promise.all(
      Array.from({ length: 20 }, () => fk.wrap(['v', dep.row('pages', 1)], load, opts)),
    )
    expect(new Set(during)).toEqual(new Set(['v1']))
    // The refresh takes its lease, then calls the loader: one background load for all callers.
    await vi.waitFor(() => expect(load.calls.n).toBe(2))
    expect(await fk.wrap(['v', dep.row('pages', 1)], load, opts)).toBe('v1') // still running: still stale
    expect(load.calls.n).toBe(2)
    release()
    await fk.idle()
    expect(await fk.wrap(['v', dep.row('pages', 1)], load, opts)).toBe('v2')
    expect(load.calls.n).toBe(2)
    expect(fk.stats().staleServed).toBe(21)
  })

  it('undefined results are not cached unless asked', async () => {
    const fk = make()
    const load = counter(() => undefined)
    await fk.wrap(['k'], load)
    await fk.wrap(['k'], load)
    expect(load.calls.n).toBe(2)
    const load2 = counter(() => undefined)
    await fk.wrap(['k2'], load2, { cacheUndefined: true })
    await fk.wrap(['k2'], load2, { cacheUndefined: true })
    expect(load2.calls.n).toBe(1)
  })

  it('round-trips Date, BigInt, Map, Set and undefined; refuses functions and cycles at set', async () => {
    const fk = make()
    const value = {
      at: new Date('2024-05-06T07:08:09.010Z'),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set(['x'])],
      ]),
      set: new Set([1, 2]),
      missing: undefined,
      list: [undefined, null, Number.NaN],
      $fk: 'user data that looks like a tag',
    }
    await fk.set('v', value)
    expect(await fk.get('v')).toEqual(value)
    await expect(fk.set('f', { fn() {} })).rejects.toBeInstanceOf(SerializationError)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(fk.set('c', cyclic)).rejects.toMatchObject({ code: 'E_SERIALIZATION' })
    expect(await fk.get('c')).toBeUndefined()
  })

  it('takes a pluggable serializer', async () => {
    const seen: string[] = []
    const fk = make({
      serializer: {
        serialize: (v) => {
          seen.push('s')
          return `X${JSON.stringify(v)}`
        },
        deserialize: (t) => {
          seen.push('d')
          return JSON.parse(t.slice(1))
        },
      },
    })
    await fk.set('k', { a: 1 })
    expect(await fk.get('k')).toEqual({ a: 1 })
    expect(seen).toEqual(['s', 'd'])
  })

  it('memoize: same signature, invalidate, refresh, peek, keyOf', async () => {
    const fk = make()
    let n = 0
    const getUser = fk.cached(
      async (id: number, opts: { full: boolean }) => ({ id, full: opts.full, n: ++n }),
      {
        name: 'getUser',
        deps: (id) => [dep.row('users', id)],
      },
    )
    await expect(getUser.peek(1, { full: true })).rejects.toBeInstanceOf(NotCachedError)
    expect(await getUser(1, { full: true })).toEqual({ id: 1, full: true, n: 1 })
    expect(await getUser(1, { full: true })).toEqual({ id: 1, full: true, n: 1 })
    expect(await getUser.peek(1, { full: true })).toEqual({ id: 1, full: true, n: 1 })
    expect(getUser.keyOf(1, { full: true })).toContain('getUser')
    expect(getUser.keyOf(1, { full: true })).not.toBe(getUser.keyOf(1, { full: false }))
    await getUser.invalidate(1, { full: true })
    expect((await getUser(1, { full: true })).n).toBe(2)
    expect((await getUser.refresh(1, { full: true })).n).toBe(3)
    expect((await getUser(1, { full: true })).n).toBe(3)
    await fk.changed({ table: 'users', kind: 'update', pk: 1 })
    expect((await getUser(1, { full: true })).n).toBe(4)
  })

  it('memoize keys are readable and hashed when long', async () => {
    const fk = make()
    const f = fk.cached(async (s: string) => s.length, { name: 'len' })
    expect(f.keyOf('abc')).toContain('len:[s3:abc]')
    const long = f.keyOf('x'.repeat(5000))
    expect(long.length).toBeLessThan(300)
    expect(await f('x'.repeat(5000))).toBe(5000)
    expect(() => fk.cached(async () => 1).keyOf()).toThrow(ConfigError)
  })

  it('standard and legacy method decorators memoize per class', async () => {
    const fk = make()
    let calls = 0
    class Repo {
      prefix = 'user-'
      find(id: number) {
        calls++
        return Promise.resolve(this.prefix + id)
      }
    }
    // Standard (TC39) form: (method, context) → replacement.
    const std = fk.cache({ deps: (id: number) => [dep.row('users', id)] })(Repo.prototype.find, {
      kind: 'method',
      name: 'find',
    })
    Object.defineProperty(Repo.prototype, 'find', { value: std })
    const repo = new Repo()
    expect(await repo.find(1)).toBe('user-1')
    expect(await new Repo().find(1)).toBe('user-1')
    expect(calls).toBe(1)
    // Legacy form: (prototype, name, descriptor) → descriptor.
    class Legacy {
      find(id: number) {
        calls++
        return Promise.resolve(`legacy-${id}`)
      }
    }
    const d = Object.getOwnPropertyDescriptor(Legacy.prototype, 'find')!
    Object.defineProperty(Legacy.prototype, 'find', cached(fk)(Legacy.prototype, 'find', d))
    expect(await new Legacy().find(2)).toBe('legacy-2')
    expect(await new Legacy().find(2)).toBe('legacy-2')
    expect(calls).toBe(2)
    await fk.changed({ table: 'users', kind: 'delete', pk: 1 })
    await repo.find(1)
    expect(calls).toBe(3)
  })

  it('purge deletes other versions exactly, never the running one', async () => {
    const namespace = `purge-${process.pid}-${seq++}`
    const store = makeStore()
    stores.push(store)
    const v = (version: string) => createFreshkey({ store, namespace, version })
    for (const version of ['1', '2', '3']) {
      const fk = v(version)
      await fk.set('a', version)
      await fk.wrap(['v', dep.row('t', 1)], () => version)
      await sleep(5)
    }
    const v3 = v('3')
    await sleep(50) // version registration is written in the background
    expect(await v3.purge({ keepVersions: 2 })).toMatchObject({ versions: ['1'] })
    expect(await v('1').get('a')).toBeUndefined()
    expect(await v('2').get('a')).toBe('2')
    expect(await v3.get('a')).toBe('3')
    expect(await v3.purge({ version: '2' })).toMatchObject({ versions: ['2'], deleted: 2 })
    expect(await v('2').get('a')).toBeUndefined()
    expect(await v3.get('a')).toBe('3')
    await expect(v3.purge({ version: '3' })).rejects.toBeInstanceOf(ConfigError)
  })

  it('publishes hit, miss, load, invalidate and error events on freshkey:* channels', async () => {
    const fk = make()
    const events: string[] = []
    const names = [
      'freshkey:hit',
      'freshkey:miss',
      'freshkey:load',
      'freshkey:invalidate',
      'freshkey:error',
    ] as const
    const listeners = names.map((name) => {
      const fn = (msg: unknown) => {
        if ((msg as { namespace: string }).namespace === fk.namespace) events.push(name.slice(9))
      }
      subscribe(name, fn)
      return [name, fn] as const
    })
    try {
      await fk.wrap(['x'], () => 1)
      await fk.wrap(['x'], () => 1)
      await fk.invalidate(dep.tag('t'))
      await fk.set('bad', 1).catch(() => {})
    } finally {
      for (const [name, fn] of listeners) unsubscribe(name, fn)
    }
    expect(events).toEqual(['miss', 'load', 'hit', 'invalidate'])
  })

  it('inside a transaction nothing is stored, and touched dependencies bypass the cache', async () => {
    const fk = make()
    await fk.wrap(['v', dep.row('users', 1)], () => 'cached')
    const tx = fk.transaction()
    await fk.runInTransaction(tx, async () => {
      expect(await fk.wrap(['v', dep.row('users', 1)], () => 'fresh')).toBe('cached') // untouched: committed value
      tx.record({ table: 'users', kind: 'update', pk: 1 })
      expect(await fk.wrap(['v', dep.row('users', 1)], () => 'mine')).toBe('mine') // read-your-writes
      expect(await fk.wrap(['v', dep.row('users', 2)], () => 'snapshot')).toBe('snapshot')
      expect(await fk.set('k', 1)).toBe(false)
    })
    tx.rollback()
    const load = counter(() => 'outside')
    expect(await fk.wrap(['v', dep.row('users', 2)], load)).toBe('outside') // the in-transaction load was not stored
    expect(await fk.wrap(['v', dep.row('users', 1)], () => 'x')).toBe('cached') // rolled back: no bump
  })
})

describe('value cache when the store is down', () => {
  it('wrap and cached fall back to the loader and count it', async () => {
    const down = redisStore('redis://127.0.0.1:1', { timeout: 200 })
    const fk = createFreshkey({ store: down, namespace: 'down', bumpAttempts: 1 })
    const errors: unknown[] = []
    const fn = (m: unknown) => errors.push(m)
    subscribe('freshkey:error', fn)
    try {
      expect(await fk.wrap(['v', dep.row('users', 1)], () => 'from-db')).toBe('from-db')
      const f = fk.cached(async (id: number) => id * 2, { name: 'double' })
      expect(await f(21)).toBe(42)
      await fk.changed({ table: 'users', kind: 'update', pk: 1 }) // never throws
      expect(fk.stats().bypasses).toBe(2)
      expect(errors.length).toBeGreaterThanOrEqual(3)
      await expect(fk.keyFor(dep.row('users', 1))).rejects.toMatchObject({ code: 'E_STORE_UNAVAILABLE' })
    } finally {
      unsubscribe('freshkey:error', fn)
      await fk.close()
      await down.close()
    }
  })
})

describe('adapter hooks in core', () => {
  it('a binding reports swallowed errors: counted, published on freshkey:error, given to onError', () => {
    const fk = createFreshkey({ store: memoryStore(), namespace: `report-${seq++}`, logger: false })
    const got: unknown[] = []
    const mine: unknown[] = []
    const fn = (m: unknown) => got.push(m)
    subscribe('freshkey:error', fn)
    try {
      new Binding(fk, {}, 'typeorm', { onError: (e) => mine.push(e) }).report(
        'afterUpdate',
        new Error('bad transformer'),
      )
    } finally {
      unsubscribe('freshkey:error', fn)
    }
    expect(fk.stats().adapterErrors).toBe(1)
    expect(mine).toHaveLength(1)
    expect(got).toEqual([
      expect.objectContaining({ operation: 'typeorm:afterUpdate', namespace: fk.namespace }),
    ])
  })

  it('refreshResolvers applies scopes declared on a class before its adapter knew it', async () => {
    const fk = createFreshkey({ store: memoryStore(), namespace: `refresh-${seq++}` })
    class Post {}
    fk.defineScope(Post, ['published'])
    let ready = false
    const resolver = {
      identify: () => undefined,
      tableOf: (t: unknown) => (ready && t === Post ? 'posts' : undefined),
    }
    addResolver(fk, resolver)
    expect(fk.scopedFields('posts')).toEqual([])
    ready = true // the ORM built its metadata: registering again asks the resolvers again
    addResolver(fk, resolver)
    expect(fk.scopedFields('posts')).toEqual(['published'])
  })
})

describe('result caches (kit ResultCache)', () => {
  it.each(backends)(
    '%s: a miss gives a ticket, the fill stores with the rows and filter the query read; a hit the value',
    async (_n, makeStore) => {
      const store = makeStore()
      try {
        const fk = createFreshkey({ store, namespace: `lookup-${process.pid}-${seq++}` })
        const cache = new ResultCache(fk, 'orm')
        const read = { table: 'posts', rows: [1], where: [{ published: true }] }
        const miss = await cache.lookup('q1', ['posts'])
        expect(miss.hit).toBe(false)
        if (miss.hit) return
        expect(await cache.fill(miss.ticket, ['row'], [read])).toBe(true)
        expect(await cache.lookup('q1', ['posts'])).toEqual({ hit: true, value: ['row'] })
        // A write to a post the query did not return, outside its filter: still a hit.
        await fk.changed({ table: 'posts', kind: 'insert', pk: 2, after: { published: false } })
        expect((await cache.lookup('q1', ['posts'])).hit).toBe(true)
        // A write to the posts table during the load: the fill is refused.
        const stale = await cache.lookup('q2', ['posts'])
        await fk.changed({ table: 'posts', kind: 'update', pk: 7, after: { title: 'x' }, changed: ['title'] })
        if (stale.hit) throw new Error('unexpected hit')
        expect(await cache.fill(stale.ticket, ['old'], [read])).toBe(false)
        // A new post entering the filter: a miss.
        await fk.changed({ table: 'posts', kind: 'insert', pk: 3, after: { published: true } })
        expect((await cache.lookup('q1', ['posts'])).hit).toBe(false)
        // clear() drops every entry of this cache.
        const again = await cache.lookup('q1', ['posts'])
        if (again.hit) throw new Error('unexpected hit')
        await cache.fill(again.ticket, ['row'], [read])
        await cache.clear()
        expect((await cache.lookup('q1', ['posts'])).hit).toBe(false)
        expect(fk.stats()).toMatchObject({ hits: 2 })
      } finally {
        await store.close()
      }
    },
  )
})
