import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CollectionLoadError,
  CollectionNotReadyError,
  ConfigError,
  createFreshkey,
  dep,
  type Freshkey,
  type FreshkeyEvents,
  InvalidKeyPartError,
  memoryStore,
  type Store,
} from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { serviceUrl } from './support/services.ts'

interface Row {
  id: number
  parent: number
  title: string
}

let seq = 0
const uniq = (label: string) => `${label}-${process.pid}-${Date.now()}-${seq++}`

/** A stand-in for a database table: the loader reads it, the test writes it. */
function table(rows: Row[]) {
  const db = new Map(rows.map((r) => [r.id, r]))
  let loads = 0
  return {
    db,
    get loads() {
      return loads
    },
    load: async () => {
      loads++
      return new Map([...db].map(([k, v]) => [k, { ...v }]))
    },
  }
}

const groupByParent = (items: ReadonlyMap<number, Row>) => {
  const out = new Map<number, Row[]>()
  for (const r of items.values()) out.set(r.parent, [...(out.get(r.parent) ?? []), r])
  return out
}

/** A store whose chosen members are replaced (e.g. `subscribe: undefined` for a store without pub/sub). */
function override(inner: Store, over: Partial<Record<keyof Store, unknown>>): Store {
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(over, prop)) return over[prop as keyof Store]
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function until(check: () => boolean, ms = 2000): Promise<number> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`)
    await sleep(5)
  }
  return Date.now() - started
}

function errorEvents() {
  const events: FreshkeyEvents['freshkey:error'][] = []
  const fn = (message: unknown) => events.push(message as FreshkeyEvents['freshkey:error'])
  subscribe('freshkey:error', fn)
  return { events, stop: () => unsubscribe('freshkey:error', fn) }
}

/** Writes a snapshot the way a publishing process does: revision entry (CAS on the tokens), then the entries. */
async function plant(fk: Freshkey, name: string, deps: unknown[], payload: string): Promise<void> {
  const snap = await fk.snapshot(deps)
  const key = fk.keyspace.collection(name)
  const stored = await fk.store.write({
    entry: `${key}:r`,
    expect: { keys: snap.keys, tokens: snap.tokens },
    keys: snap.keys,
    fences: [],
    generation: snap.generation,
    freshUntil: Date.now() + 60_000,
    payload: '',
    ttlMs: 60_000,
    tokenTtl: 60,
  })
  expect(stored).toBe(true)
  await fk.store.setRaw(key, `${snap.tokens.join('.')}|${snap.generation}\n${payload}`, 60_000)
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!()
})

function setup(store: Store = memoryStore(), version = '1', namespace = uniq('coll')) {
  const fk = createFreshkey({ store, namespace, version })
  closers.push(() => fk.close())
  return fk
}

describe('collection on memoryStore (one process)', () => {
  const rows: Row[] = [
    { id: 1, parent: 10, title: 'a' },
    { id: 2, parent: 10, title: 'b' },
    { id: 3, parent: 20, title: 'c' },
  ]

  it('loads on ready() and answers reads synchronously: get, has, values, keys, size, views', async () => {
    const fk = setup()
    const src = table(rows)
    const items = fk.collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: src.load,
      views: { byParent: groupByParent },
    })
    closers.push(() => items.close())
    expect(() => items.get(1)).toThrow(CollectionNotReadyError)
    expect(() => items.size).toThrow(CollectionNotReadyError)
    expect(items.revision).toBeUndefined()
    await items.ready()
    expect(items.get(1)).toEqual(rows[0])
    expect(items.get(99)).toBeUndefined()
    expect(items.has(3)).toBe(true)
    expect(items.size).toBe(3)
    expect([...items.values()].map((r) => r.title)).toEqual(['a', 'b', 'c'])
    expect([...items.keys()]).toEqual([1, 2, 3])
    expect(new Map(items)).toEqual(new Map(rows.map((r) => [r.id, r])))
    const byParent: Map<number, Row[]> = items.view('byParent')
    expect(byParent.get(10)?.map((r) => r.id)).toEqual([1, 2])
    expect(typeof items.revision).toBe('string')
    await items.ready()
    expect(src.loads).toBe(1)
  })

  it('reloads after fk.invalidate and after fk.changed on a dependency, not after unrelated bumps', async () => {
    const fk = setup()
    const src = table(rows)
    const items = fk.collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: src.load,
      checkInterval: 60_000,
    })
    closers.push(() => items.close())
    await items.ready()
    const r1 = items.revision

    src.db.set(4, { id: 4, parent: 20, title: 'd' })
    await fk.invalidate(dep.table('rows'))
    await until(() => items.size === 4)
    expect(items.revision).not.toBe(r1)
    expect(src.loads).toBe(2)

    src.db.set(1, { id: 1, parent: 10, title: 'A' })
    await fk.changed({ table: 'rows', kind: 'update', pk: 1 })
    await until(() => items.get(1)?.title === 'A')
    expect(src.loads).toBe(3)

    await fk.invalidate(dep.table('other'), dep.tag('unrelated'))
    await fk.changed({ table: 'other', kind: 'insert', pk: 5 })
    await sleep(30)
    expect(src.loads).toBe(3)

    await fk.invalidateAll()
    await until(() => src.loads === 4)
  })

  it('computes each view once per revision, lazily, and never reuses it for the next revision', async () => {
    const fk = setup()
    const src = table(rows)
    let computed = 0
    const items = fk.collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      load: src.load,
      checkInterval: 60_000,
      views: {
        byParent: (all: ReadonlyMap<number, Row>) => {
          computed++
          return groupByParent(all)
        },
        count: (all: ReadonlyMap<number, Row>) => all.size,
      },
    })
    closers.push(() => items.close())
    await items.ready()
    expect(computed).toBe(0)
    const first = items.view('byParent')
    expect(items.view('byParent')).toBe(first)
    expect(items.view('byParent')).toBe(first)
    expect(computed).toBe(1)
    expect(items.view('count')).toBe(3)

    src.db.delete(3)
    await fk.invalidate(dep.tag('rows'))
    await until(() => items.size === 2)
    expect(computed).toBe(1)
    const second = items.view('byParent')
    items.view('byParent')
    expect(computed).toBe(2)
    expect(second).not.toBe(first)
    expect(second.get(20)).toBeUndefined()
    expect(first.get(20)?.[0]?.title).toBe('c')
    expect(items.view('count')).toBe(2)
    expect(() => (items as unknown as { view(n: string): unknown }).view('nope')).toThrow(ConfigError)
  })

  it('keeps serving the previous items while a reload runs', async () => {
    const fk = setup()
    const src = table(rows)
    let gate: { promise: Promise<void>; resolve: () => void } | undefined
    let started = 0
    const items = fk.collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      checkInterval: 60_000,
      load: async () => {
        started++
        await gate?.promise
        return src.load()
      },
    })
    closers.push(() => items.close())
    await items.ready()
    let resolve = () => {}
    gate = { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() }
    src.db.set(1, { id: 1, parent: 10, title: 'new' })
    await fk.invalidate(dep.tag('rows'))
    await until(() => started === 2)
    await sleep(20)
    expect(items.get(1)?.title).toBe('a')
    expect(items.size).toBe(3)
    gate.resolve()
    await until(() => items.get(1)?.title === 'new')
  })

  it('keeps the previous items when load() fails, reports it on freshkey:error, and recovers later', async () => {
    const fk = setup()
    const src = table(rows)
    let fail = false
    const items = fk.collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      checkInterval: 20,
      load: async () => {
        if (fail) throw new Error('database down')
        return src.load()
      },
    })
    closers.push(() => items.close())
    await items.ready()
    const r1 = items.revision
    const errors = errorEvents()
    try {
      fail = true
      src.db.set(1, { id: 1, parent: 10, title: 'new' })
      await fk.invalidate(dep.tag('rows'))
      await until(() => errors.events.some((e) => e.operation === 'collection.load'))
      const event = errors.events.find((e) => e.operation === 'collection.load')!
      expect(event.namespace).toBe(fk.namespace)
      expect(event.error).toBeInstanceOf(CollectionLoadError)
      expect((event.error as CollectionLoadError).cause).toEqual(new Error('database down'))
      expect(items.get(1)?.title).toBe('a')
      expect(items.revision).toBe(r1)
      // push() is explicit: it rejects with the load error (and still keeps the old items).
      await expect(items.push()).rejects.toBeInstanceOf(CollectionLoadError)
      expect(items.get(1)?.title).toBe('a')
      fail = false
      await until(() => items.get(1)?.title === 'new', 3000)
    } finally {
      errors.stop()
    }
  })

  it('rejects ready() with CollectionLoadError when the first load fails, and a later ready() retries', async () => {
    const fk = setup()
    let fail = true
    const items = fk.collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      checkInterval: 60_000,
      load: async () => {
        if (fail) throw new Error('no database yet')
        return new Map([[1, 'one']])
      },
    })
    closers.push(() => items.close())
    const error = await items.ready().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CollectionLoadError)
    expect((error as CollectionLoadError).code).toBe('E_COLLECTION_LOAD')
    expect(() => items.get(1)).toThrow(CollectionNotReadyError)
    fail = false
    await items.ready()
    expect(items.get(1)).toBe('one')
  })

  it('rejects a load() that does not return a Map', async () => {
    const fk = setup()
    const items = fk.collection({
      name: 'bad',
      deps: [],
      load: async () => [[1, 2]] as unknown as Map<number, number>,
    })
    closers.push(() => items.close())
    await expect(items.ready()).rejects.toThrow(/must return a Map/)
  })

  it('push() reloads without any dependency change and makes other instances take its snapshot', async () => {
    const store = memoryStore()
    const namespace = uniq('push')
    const src = table(rows)
    const a = setup(store, '1', namespace).collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: src.load,
      checkInterval: 60_000,
    })
    const b = setup(store, '1', namespace).collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: src.load,
      checkInterval: 60_000,
    })
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    await a.ready()
    await b.ready()
    expect(src.loads).toBe(1)
    expect(b.revision).toBe(a.revision)

    src.db.set(2, { id: 2, parent: 10, title: 'pushed' })
    const r1 = a.revision
    await a.push()
    expect(a.get(2)?.title).toBe('pushed')
    expect(a.revision).not.toBe(r1)
    await until(() => b.get(2)?.title === 'pushed')
    expect(b.revision).toBe(a.revision)
    expect(src.loads).toBe(2)
  })

  it('notices changes through the token check when the store has no pub/sub', async () => {
    const store = override(memoryStore(), { subscribe: undefined, publish: undefined })
    const fk = setup(store)
    const src = table(rows)
    const items = fk.collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: src.load,
      checkInterval: 50,
    })
    closers.push(() => items.close())
    await items.ready()
    src.db.set(9, { id: 9, parent: 10, title: 'polled' })
    await fk.changed({ table: 'rows', kind: 'insert', pk: 9 })
    await sleep(10)
    expect(items.has(9)).toBe(false)
    const took = await until(() => items.has(9), 1000)
    expect(took).toBeLessThan(500)
  })

  it('publishes nothing for a load that raced a change: the change wins on the next sync', async () => {
    const store = memoryStore()
    const fk = setup(store)
    const src = table(rows)
    let first = true
    const items = fk.collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      checkInterval: 60_000,
      load: async () => {
        const snapshot = await src.load()
        if (first) {
          first = false
          // A write commits while this load runs: what we loaded is already stale.
          src.db.set(1, { id: 1, parent: 10, title: 'committed during load' })
          await fk.invalidate(dep.tag('rows'))
        }
        return snapshot
      },
    })
    closers.push(() => items.close())
    await items.ready()
    await until(() => items.get(1)?.title === 'committed during load')
    expect(src.loads).toBe(2)
    // The stored snapshot is the second one, under the current tokens.
    const other = setup(store, '1', fk.namespace).collection({
      name: 'rows',
      deps: [dep.tag('rows')],
      load: (): Map<number, Row> => {
        throw new Error('must take the snapshot')
      },
    })
    closers.push(() => other.close())
    await other.ready()
    expect(other.get(1)?.title).toBe('committed during load')
  })

  it('never reads a snapshot of another version; purge({ version }) deletes it', async () => {
    const store = memoryStore()
    const namespace = uniq('ver')
    const v1 = table([{ id: 1, parent: 0, title: 'v1' }])
    const v2 = table([{ id: 1, parent: 0, title: 'v2' }])
    const a = setup(store, '1', namespace).collection({
      name: 'rows',
      deps: [dep.table('rows')],
      load: v1.load,
    })
    const fk2 = setup(store, '2', namespace)
    const b = fk2.collection({ name: 'rows', deps: [dep.table('rows')], load: v2.load })
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    await a.ready()
    await b.ready()
    // Same tokens (they are shared by all versions), separate snapshots.
    expect(b.revision).toBe(a.revision)
    expect(a.get(1)?.title).toBe('v1')
    expect(b.get(1)?.title).toBe('v2')
    expect(v1.loads).toBe(1)
    expect(v2.loads).toBe(1)

    const key1 = fk2.keyspace.collection('rows', '1')
    expect(await store.getRaw(key1)).toMatch(/"v1"/)
    await expect(b.purge({ version: '2' })).rejects.toBeInstanceOf(ConfigError)
    expect(await b.purge({ version: '1' })).toEqual(['1'])
    expect(await store.getRaw(key1)).toBeUndefined()
    expect((await store.read({ entry: `${key1}:r`, keys: [], ttl: 1 })).entry).toBeUndefined()
    expect(await store.getRaw(fk2.keyspace.collection('rows'))).toMatch(/"v2"/)
  })

  it('runs load() outside the caller transaction', async () => {
    const fk = setup()
    let sawTransaction: boolean | undefined
    const items = fk.collection({
      name: 'tx',
      deps: [dep.tag('tx')],
      load: async () => {
        sawTransaction = fk.currentTransaction() !== undefined
        return new Map([[1, 1]])
      },
    })
    closers.push(() => items.close())
    const tx = fk.transaction()
    await fk.runInTransaction(tx, () => items.ready())
    expect(sawTransaction).toBe(false)
    expect(items.revision).toBeDefined()
    await tx.rollback()
  })

  it('loads from the source when the store is down, and syncs once it answers again', async () => {
    let down = true
    const inner = memoryStore()
    const failing = () => Promise.reject(new Error('connection refused'))
    const store = new Proxy(inner, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => (down && prop !== 'close' ? failing() : value.apply(target, args))
      },
    }) as Store
    const fk = setup(store)
    const src = table(rows)
    const items = fk.collection({ name: 'rows', deps: [dep.tag('rows')], load: src.load, checkInterval: 30 })
    closers.push(() => items.close())
    const errors = errorEvents()
    try {
      await items.ready()
      expect(items.size).toBe(3)
      expect(items.revision).toBeUndefined()
      expect(
        errors.events.some((e) => e.operation === 'tokens' || e.operation === 'collection.subscribe'),
      ).toBe(true)
    } finally {
      errors.stop()
    }
    down = false
    await until(() => items.revision !== undefined)
    expect(src.loads).toBe(2)
  })

  it('stops watching after close()', async () => {
    const fk = setup()
    const src = table(rows)
    const items = fk.collection({ name: 'rows', deps: [dep.tag('rows')], load: src.load, checkInterval: 20 })
    await items.ready()
    await items.close()
    await fk.invalidate(dep.tag('rows'))
    await sleep(80)
    expect(src.loads).toBe(1)
    expect(items.size).toBe(3)
    await expect(items.push()).rejects.toBeInstanceOf(ConfigError)
  })

  it('rejects ready() with the dependency error itself when a dependency cannot be resolved', async () => {
    const fk = setup()
    class Unknown {}
    const items = fk.collection({ name: 'bad-deps', deps: [Unknown], load: async () => new Map() })
    closers.push(() => items.close())
    const error = await items.ready().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidKeyPartError)
  })

  it('validates its options', () => {
    const fk = setup()
    const load = async () => new Map()
    expect(() => fk.collection({ name: '', deps: [], load })).toThrow(ConfigError)
    expect(() => fk.collection({ name: 'x', deps: 'rows' as unknown as unknown[], load })).toThrow(
      ConfigError,
    )
    expect(() => fk.collection({ name: 'x', deps: [], load: 1 as unknown as typeof load })).toThrow(
      ConfigError,
    )
    expect(() => fk.collection({ name: 'x', deps: [], load, checkInterval: 0 })).toThrow(ConfigError)
  })
})

const redisUrl = serviceUrl('REDIS_URL')
describe.skipIf(!redisUrl)('collection on redisStore (in-process)', () => {
  const redis = redisUrl ? new Redis(redisUrl) : undefined
  afterAll(async () => {
    await redis?.quit()
  })

  it('never reads a well-formed snapshot planted under another version', async () => {
    const namespace = uniq('plant')
    const s1 = redisStore(redisUrl!)
    const s2 = redisStore(redisUrl!)
    closers.push(
      () => s1.close(),
      () => s2.close(),
    )
    const fk1 = setup(s1, '1', namespace)
    const fk2 = setup(s2, '2', namespace)
    const deps = [dep.table('rows')]
    // Plant a snapshot for version 2 under the current tokens, exactly as a publisher would.
    await plant(
      fk2,
      'rows',
      [...deps, dep.tag('collection:rows')],
      fk2.serializer.serialize([[1, 'planted']]),
    )

    let loads = 0
    const a = fk1.collection({
      name: 'rows',
      deps,
      load: async () => {
        loads++
        return new Map([[1, 'from the source']])
      },
    })
    const b = fk2.collection({
      name: 'rows',
      deps,
      load: async () => {
        throw new Error('version 2 must take its snapshot')
      },
    })
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    await a.ready()
    expect(a.get(1)).toBe('from the source')
    expect(loads).toBe(1)
    // The planted snapshot is valid for its own version: the test above is not vacuous.
    await b.ready()
    expect(b.get(1)).toBe('planted')
  })

  it('loads instead of adopting a corrupt snapshot, and reports it', async () => {
    const namespace = uniq('corrupt')
    const store = redisStore(redisUrl!)
    closers.push(() => store.close())
    const fk = setup(store, '1', namespace)
    await plant(fk, 'rows', [dep.tag('collection:rows')], '{not json')
    const errors = errorEvents()
    try {
      const items = fk.collection({ name: 'rows', deps: [], load: async () => new Map([['k', new Date(0)]]) })
      closers.push(() => items.close())
      await items.ready()
      expect(items.get('k')).toEqual(new Date(0))
      expect(errors.events.some((e) => e.operation === 'collection.deserialize')).toBe(true)
    } finally {
      errors.stop()
    }
  })

  it('round-trips Date, BigInt, Map and Set values through the published snapshot', async () => {
    const namespace = uniq('types')
    const [s1, s2] = [redisStore(redisUrl!), redisStore(redisUrl!)]
    closers.push(
      () => s1.close(),
      () => s2.close(),
    )
    const value = {
      at: new Date(1_700_000_000_000),
      big: 2n ** 70n,
      tags: new Set(['x']),
      meta: new Map([['k', 1]]),
    }
    const a = setup(s1, '1', namespace).collection({
      name: 'typed',
      deps: [],
      load: async () => new Map([[1n, value]]),
    })
    const b = setup(s2, '1', namespace).collection({
      name: 'typed',
      deps: [],
      load: async (): Promise<Map<bigint, typeof value>> => {
        throw new Error('must adopt')
      },
    })
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    await a.ready()
    await b.ready()
    expect(b.get(1n)).toEqual(value)
  })
})
