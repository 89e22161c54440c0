import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshkey, dep, type Freshkey, InvalidKeyPartError, type Store } from '@freshkey/core'
import { addResolver, type EntityResolver } from '@freshkey/core/adapter'
import { type RedisStore, redisStore } from '@freshkey/redis'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { counting, freshNamespace, storeCases } from './helpers.ts'

class User {
  constructor(readonly id: number | string) {}
}
class Post {
  constructor(
    readonly blogId: number,
    readonly slug: string,
  ) {}
}
/** Known to the resolver as a table, but without a primary key reading. */
class Report {}

const resolver: EntityResolver = {
  identify(entity) {
    if (entity instanceof User) return { table: 'users', pk: entity.id }
    if (entity instanceof Post) return { table: 'posts', pk: { blog_id: entity.blogId, slug: entity.slug } }
    return undefined
  },
  tableOf(target) {
    if (target === User) return 'users'
    if (target === Post) return 'posts'
    if (target === Report || target instanceof Report) return 'reports'
    return undefined
  },
}

for (const c of storeCases()) {
  describe(`keyFor (${c.name})`, () => {
    let store: Store
    const instances: Freshkey[] = []
    const make = (
      options: { namespace?: string; version?: string; tokenTtl?: number; store?: Store } = {},
    ) => {
      const fk = createFreshkey({
        store: options.store ?? store,
        namespace: options.namespace ?? freshNamespace('keyfor'),
        ...options,
      })
      instances.push(fk)
      return fk
    }
    beforeAll(() => {
      store = c.make()
    })
    afterEach(async () => {
      for (const fk of instances.splice(0)) await fk.close()
    })
    afterAll(async () => {
      await store.close()
    })

    describe('plain values', () => {
      it('each kind of plain value is a key part, and equal inputs give equal keys', async () => {
        const fk = make()
        const parts = [
          'page',
          2,
          3n,
          true,
          false,
          null,
          new Date(1_700_000_000_000),
          [1, 'a', [null]],
          { a: 1, b: { c: [2] } },
        ]
        const key = await fk.keyFor(...parts)
        const again = await fk.keyFor(
          'page',
          2,
          3n,
          true,
          false,
          null,
          new Date(1_700_000_000_000),
          [1, 'a', [null]],
          {
            a: 1,
            b: { c: [2] },
          },
        )
        expect(again).toBe(key)
        expect(key.startsWith(fk.keyspace.versionPrefix)).toBe(true)
      })

      it('values of different kinds never share a key', async () => {
        const fk = make()
        const values: unknown[] = [
          1,
          '1',
          1n,
          true,
          'true',
          null,
          'null',
          new Date(1),
          [1],
          ['1'],
          { 1: 1 },
          { a: 1 },
          [],
          {},
          '',
          0,
          -1,
          1.5,
        ]
        const keys = await Promise.all(values.map((v) => fk.keyFor(v)))
        expect(new Set(keys).size).toBe(values.length)
      })

      it('object key order does not matter, at any depth', async () => {
        const fk = make()
        const a = await fk.keyFor({ x: 1, y: { p: [1, { m: 1, n: 2 }], q: 'z' } })
        const b = await fk.keyFor({ y: { q: 'z', p: [1, { n: 2, m: 1 }] }, x: 1 })
        expect(b).toBe(a)
        // ...but array order does.
        expect(await fk.keyFor({ x: 1, y: { p: [{ m: 1, n: 2 }, 1], q: 'z' } })).not.toBe(a)
      })

      it('the number and grouping of parts are part of the key', async () => {
        const fk = make()
        const keys = await Promise.all([
          fk.keyFor('a', 'b'),
          fk.keyFor('a,b'),
          fk.keyFor(['a', 'b']),
          fk.keyFor('a', ['b']),
          fk.keyFor(),
          fk.keyFor(''),
          fk.keyFor([]),
        ])
        expect(new Set(keys).size).toBe(keys.length)
      })

      it('equal Dates give equal keys, different instants different keys', async () => {
        const fk = make()
        expect(await fk.keyFor(new Date(5))).toBe(await fk.keyFor(new Date(5)))
        expect(await fk.keyFor(new Date(5))).not.toBe(await fk.keyFor(new Date(6)))
      })
    })

    describe('entities and classes through a resolver', () => {
      it('an entity means its row dependency, a class or model name its table', async () => {
        const fk = make()
        addResolver(fk, resolver)
        expect(await fk.keyFor(new User(1))).toBe(await fk.keyFor(dep.row('users', 1)))
        expect(await fk.keyFor(new User('1'))).toBe(await fk.keyFor('users#1'))
        expect(await fk.keyFor(new Post(3, 'hi'))).toBe(
          await fk.keyFor(dep.row('posts', { slug: 'hi', blog_id: 3 })),
        )
        expect(await fk.keyFor(User)).toBe(await fk.keyFor(dep.table('users')))
        // An instance the resolver knows only by its class becomes a table dependency.
        expect(await fk.keyFor(new Report())).toBe(await fk.keyFor(dep.table('reports')))
      })

      it('a change to the entity row invalidates keys built from the entity', async () => {
        const fk = make()
        addResolver(fk, resolver)
        const alice = new User(7)
        const k = await fk.keyFor(alice, 'profile')
        const list = await fk.keyFor(User, 'list')
        await fk.changed({ table: 'users', kind: 'update', pk: '7' })
        expect(await fk.keyFor(alice, 'profile')).not.toBe(k)
        expect(await fk.keyFor(User, 'list')).not.toBe(list)
      })

      it('after unregistering, the entity is no longer a key part', async () => {
        const fk = make()
        const off = addResolver(fk, resolver)
        await fk.keyFor(new User(1))
        off()
        await expect(fk.keyFor(new User(1))).rejects.toBeInstanceOf(InvalidKeyPartError)
      })
    })

    describe('tokens', () => {
      it('same inputs and tokens give the same key; any dependency bumped gives a different key', async () => {
        const fk = make()
        const parts = [
          dep.row('users', 1),
          dep.row('posts', 2),
          dep.table('tags'),
          dep.tag('home'),
          dep.all(),
          'page',
          2,
        ]
        const k1 = await fk.keyFor(...parts)
        expect(await fk.keyFor(...parts)).toBe(k1)
        const bumps = [
          dep.row('users', 1),
          dep.row('posts', 2),
          dep.table('tags'),
          dep.tag('home'),
          dep.all(),
        ]
        const seen = new Set([k1])
        for (const d of bumps) {
          await fk.invalidate(d)
          const k = await fk.keyFor(...parts)
          expect(seen.has(k)).toBe(false)
          seen.add(k)
          expect(await fk.keyFor(...parts)).toBe(k)
        }
      })

      it('namespaces and versions never share a key, even on one store', async () => {
        const base = freshNamespace('ns')
        const fks = [
          make({ namespace: base, version: '1' }),
          make({ namespace: base, version: '2' }),
          make({ namespace: `${base}x`, version: '1' }),
          // Separators inside names must not let two (namespace, version) pairs spell the same prefix.
          make({ namespace: `${base}:@1`, version: '1' }),
          make({ namespace: base, version: '1:@1' }),
          make({ namespace: `${base}}`, version: '1' }),
        ]
        const parts = [dep.row('users', 1), 'page', 1]
        const keys = await Promise.all(fks.map((fk) => fk.keyFor(...parts)))
        expect(new Set(keys).size).toBe(fks.length)
      })

      it('versions share tokens: a write seen by one version invalidates the other', async () => {
        const namespace = freshNamespace('ver')
        const v1 = make({ namespace, version: '1' })
        const v2 = make({ namespace, version: '2' })
        const before = await v2.keyFor(dep.row('users', 1))
        await v1.changed({ table: 'users', kind: 'update', pk: 1 })
        expect(await v2.keyFor(dep.row('users', 1))).not.toBe(before)
      })

      it('a row change bumps that row, its table and the global token, not other rows or tables', async () => {
        const fk = make()
        const watched = {
          row1: [dep.row('users', 1)],
          row2: [dep.row('users', 2)],
          table: [dep.table('users')],
          all: [dep.all()],
          otherTable: [dep.table('posts')],
          otherRow: [dep.row('posts', 1)],
          tag: [dep.tag('users')],
          plain: ['users'],
        }
        for (const kind of ['insert', 'update', 'delete'] as const) {
          const before = await keysOf(fk, watched)
          await fk.changed({ table: 'users', kind, pk: 1 })
          const after = await keysOf(fk, watched)
          expect(changedNames(before, after), kind).toEqual(['all', 'row1', 'table'])
        }
      })

      it('a bulk change makes every row of its table and the table miss, but not other tables', async () => {
        const fk = make()
        const watched = {
          row1: [dep.row('posts', 1)],
          rowS: [dep.row('posts', 'slug-x')],
          rowC: [dep.row('posts', { a: 1, b: 2 })],
          table: [dep.table('posts')],
          all: [dep.all()],
          otherRow: [dep.row('users', 1)],
          otherTable: [dep.table('users')],
          tag: [dep.tag('posts')],
        }
        const before = await keysOf(fk, watched)
        await fk.changed({ table: 'posts', kind: 'bulk' })
        expect(changedNames(before, await keysOf(fk, watched))).toEqual([
          'all',
          'row1',
          'rowC',
          'rowS',
          'table',
        ])
      })

      it('invalidate(dep.table(t)) invalidates its rows too, and nothing of other tables', async () => {
        const fk = make()
        const watched = {
          row: [dep.row('posts', 1)],
          table: [dep.table('posts')],
          string: ['posts#*'],
          otherRow: [dep.row('users', 1)],
          otherTable: [dep.table('users')],
        }
        const before = await keysOf(fk, watched)
        await fk.invalidate(dep.table('posts'))
        expect(changedNames(before, await keysOf(fk, watched))).toEqual(['row', 'string', 'table'])
      })

      it('invalidate(dep.row) bumps exactly that row', async () => {
        const fk = make()
        const watched = {
          row: [dep.row('users', 1)],
          row2: [dep.row('users', 2)],
          table: [dep.table('users')],
          all: [dep.all()],
        }
        const before = await keysOf(fk, watched)
        await fk.invalidate('users#1')
        expect(changedNames(before, await keysOf(fk, watched))).toEqual(['row'])
      })

      it('invalidate(dep.tag(x)) misses only keys tagged x', async () => {
        const fk = make()
        const watched = {
          home: [dep.tag('home'), 'page', 1],
          homeAndUser: [dep.row('users', 1), dep.tag('home')],
          sidebar: [dep.tag('sidebar')],
          user: [dep.row('users', 1)],
          all: [dep.all()],
          plain: ['home'],
        }
        const before = await keysOf(fk, watched)
        await fk.invalidate(dep.tag('home'))
        expect(changedNames(before, await keysOf(fk, watched))).toEqual(['home', 'homeAndUser'])
      })

      it('invalidateAll() changes every key of the namespace, plain-value keys too, and no other namespace', async () => {
        const fk = make()
        const other = make()
        const watched = { row: [dep.row('users', 1)], tag: [dep.tag('t')], plain: ['page', 1], none: [] }
        const before = await keysOf(fk, watched)
        const otherBefore = await keysOf(other, watched)
        await fk.invalidateAll()
        expect(changedNames(before, await keysOf(fk, watched))).toEqual(['none', 'plain', 'row', 'tag'])
        expect(changedNames(otherBefore, await keysOf(other, watched))).toEqual([])
      })

      // Regression guard ("dependency nested in a value part"): `keyFor` takes
      // rest parameters while `wrap` takes an array, so `keyFor([dep.row(...)])` is an easy slip; it must
      // either track the dependency or refuse it, never build a key that no bump can change.
      it('a dependency nested inside an array part is tracked or refused, never silently frozen', async () => {
        const fk = make()
        const outcome = await fk.keyFor([dep.row('users', 1)]).then(
          (key) => key,
          (e: unknown) => e,
        )
        if (typeof outcome === 'string') {
          await fk.invalidate(dep.row('users', 1))
          expect(await fk.keyFor([dep.row('users', 1)])).not.toBe(outcome)
        } else {
          expect(outcome).toBeInstanceOf(InvalidKeyPartError)
        }
      })
    })

    describe('round trips and TTLs', () => {
      it('one store round trip per keyFor, however many dependencies', async () => {
        const probe = counting(store)
        const fk = make({ store: probe.store })
        addResolver(fk, resolver)
        const rows = Array.from({ length: 100 }, (_, i) => dep.row(`t${i % 7}`, i))
        for (const parts of [
          [dep.row('users', 1)],
          rows,
          [...rows, new User(1), User, dep.tag('a'), dep.all(), 'x', { y: 1 }],
          ['plain'],
        ]) {
          probe.reset()
          await fk.keyFor(...parts)
          expect(probe.calls).toEqual({ tokens: 1 })
        }
      })

      it('reads each token key once, even when dependencies repeat; no namespace-wide key', async () => {
        const probe = counting(store)
        const fk = make({ store: probe.store })
        await fk.keyFor(dep.row('users', 1), 'users#1', dep.row('users', 2), dep.row('users', 1n))
        const [keys] = probe.args.tokens![0] as [string[]]
        expect(keys).not.toContain(fk.keyspace.epoch)
        expect(new Set(keys).size).toBe(keys.length)
        // 2 rows + the table's bulk token they share.
        expect(keys).toHaveLength(3)
        // Only a key with no dependency at all reads the epoch (so invalidateAll changes it too).
        probe.reset()
        await fk.keyFor('page', 1)
        expect(probe.args.tokens![0]).toEqual([[fk.keyspace.epoch], expect.any(Number)])
      })

      it('an expired token only costs a miss: the key changes once tokenTtl passed without reads', async () => {
        const fk = make({ tokenTtl: 1 })
        const k1 = await fk.keyFor(dep.row('users', 1))
        await sleep(1300)
        expect(await fk.keyFor(dep.row('users', 1))).not.toBe(k1)
      })

      it('reads refresh the token TTL', async () => {
        const fk = make({ tokenTtl: 1 })
        const k1 = await fk.keyFor(dep.row('users', 1))
        for (let i = 0; i < 4; i++) {
          await sleep(400)
          expect(await fk.keyFor(dep.row('users', 1))).toBe(k1)
        }
      })
    })

    if (c.name === 'redisStore') {
      it('every token key carries a TTL in Redis, bounded by tokenTtl, bumped keys included', async () => {
        const fk = make({ tokenTtl: 120 })
        const redis = (store as RedisStore).client as unknown as Redis
        const prefix = (store as RedisStore).prefix
        const parts = [dep.row('users', 1), dep.table('posts'), dep.tag('home'), dep.all(), 'page']
        await fk.keyFor(...parts)
        await fk.invalidate(dep.row('users', 1), dep.tag('home'))
        await fk.keyFor(...parts)
        const tokenKeys = fk.tokenKeysOf(parts)
        expect(tokenKeys.length).toBeGreaterThanOrEqual(5)
        for (const ms of await Promise.all(tokenKeys.map((k) => redis.pttl(prefix + k)))) {
          expect(ms).toBeGreaterThan(0)
          expect(ms).toBeLessThanOrEqual(120_000)
        }
      })

      it('in steady state a keyFor is one Redis command, however many dependencies', async () => {
        const own = redisStore((store as RedisStore).client)
        const client = own.client as unknown as { sendCommand: (...a: unknown[]) => unknown }
        const fk = make({ store: own })
        const parts = Array.from({ length: 50 }, (_, i) => dep.row(`t${i % 3}`, i))
        await fk.keyFor(...parts) // first use may create the tokens: not the steady state
        await fk.keyFor(...parts)
        let commands = 0
        const send = client.sendCommand
        client.sendCommand = (...a: unknown[]) => {
          commands++
          return send.apply(client, a)
        }
        try {
          for (let i = 0; i < 5; i++) await fk.keyFor(...parts)
        } finally {
          client.sendCommand = send
        }
        expect(commands).toBe(5)
      })

      it('a token that keeps being read has its Redis TTL pushed back', async () => {
        // tokenTtl 2 s: without a refresh the TTL would be under 0.8 s after the 1.2 s pause.
        const fk = make({ tokenTtl: 2 })
        const redis = (store as RedisStore).client as unknown as Redis
        const prefix = (store as RedisStore).prefix
        const parts = [dep.row('users', 1), dep.tag('home')]
        await fk.keyFor(...parts)
        await fk.keyFor(...parts)
        await sleep(1200)
        await fk.keyFor(...parts)
        // Same connection as the store: the PTTL runs after any refresh the read sent.
        for (const ms of await Promise.all(fk.tokenKeysOf(parts).map((k) => redis.pttl(prefix + k)))) {
          expect(ms).toBeGreaterThan(1000)
        }
      })
    }
  })
}

async function keysOf(fk: Freshkey, watched: Record<string, unknown[]>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [name, parts] of Object.entries(watched)) out[name] = await fk.keyFor(...parts)
  return out
}

function changedNames(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before)
    .filter((k) => before[k] !== after[k])
    .sort()
}
