import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshkey, dep } from '@freshkey/core'
import { isFenced, Keyspace, type Store, tokenSeq, type WriteRequest } from '@freshkey/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** How the suite gets stores. */
export interface StoreFactory {
  /** A new store. With `shared`, stores from separate calls see each other's data. */
  make(): Promise<Store> | Store
  /** Stores from separate `make()` calls share one backend (e.g. two clients of one Redis). */
  readonly shared: boolean
  /** Called once after the suite with every store it made (default: `close()` each). */
  cleanup?(stores: readonly Store[]): Promise<void>
}

let seq = 0
/** A namespace of its own for each test, so tests can run concurrently on one backend. */
const space = () => new Keyspace(`suite-${process.pid}-${Date.now().toString(36)}-${seq++}`, '1')

// Generous: a wait ends as soon as its condition holds; only a Cluster under a full parallel run needs seconds.
const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await sleep(10)
}

/**
 * The store conformance suite (store contract v2): every store must pass it unchanged. Call it at
 * the top level of a vitest test file. Tests use layout-2 keys (`Keyspace`), so on Redis Cluster
 * they spread over slots the way freshkey's own keys do.
 */
export function storeSuite(name: string, factory: StoreFactory): void {
  describe.concurrent(`store conformance: ${name}`, () => {
    let store: Store
    const opened: Store[] = []
    const open = async () => {
      const s = await factory.make()
      opened.push(s)
      return s
    }
    beforeAll(async () => {
      store = await open()
      // Let a store that learns its generation after connecting settle before the first test.
      for (let i = 0; i < 200 && (store.generation?.() ?? 'x') === ''; i++) await sleep(10)
    })
    afterAll(async () => {
      if (factory.cleanup) await factory.cleanup(opened)
      else for (const s of opened) await s.close()
    })

    /** A write of `entry` depending on `keys`, expecting the tokens just read. */
    const writeOf = (
      ks: Keyspace,
      body: string,
      read: { current: ReadonlyMap<string, string>; generation: string },
      keys: readonly string[],
      extra: Partial<WriteRequest> = {},
    ): WriteRequest => ({
      entry: ks.value(body),
      expect: { keys, tokens: keys.map((k) => read.current.get(k)!) },
      keys,
      fences: [],
      generation: read.generation,
      freshUntil: Date.now() + 60_000,
      payload: `payload of ${body}`,
      ttlMs: 60_000,
      tokenTtl: 60,
      ...extra,
    })

    // ------------------------------------------------------------ tokens

    it('creates a missing token and returns the same token until bumped, with a stable generation', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const a = await store.tokens([k], 60)
      const b = await store.tokens([k], 60)
      expect(a.tokens[0]).toBeTruthy()
      expect(b.tokens[0]).toBe(a.tokens[0])
      expect(a.generation).not.toBe('')
      expect(b.generation).toBe(a.generation)
      if (store.generation) expect(store.generation()).toBe(a.generation)
      const bumped = await store.bump({ keys: [k], ttl: 60 })
      expect(bumped.generation).toBe(a.generation)
      const c = await store.tokens([k], 60)
      expect(c.tokens[0]).not.toBe(a.tokens[0])
      expect(c.tokens[0]).toBe(bumped.tokens[0])
      expect(isFenced(c.tokens[0])).toBe(false)
    })

    it('gives distinct random tokens to distinct keys, also across calls and tables', async () => {
      const ks = space()
      const keys = Array.from({ length: 50 }, (_, i) => ks.row(`t${i % 5}`, String(i)))
      const first = await store.tokens(keys, 60)
      const more = await store.tokens(
        keys.map((k) => `${k}x`),
        60,
      )
      expect(new Set([...first.tokens, ...more.tokens]).size).toBe(100)
    })

    it('bumps many keys of several groups in one call, each to a new token it reports', async () => {
      const ks = space()
      const keys = [
        ...Array.from({ length: 10 }, (_, i) => ks.row('users', String(i))),
        ks.table('users'),
        ks.table('posts'),
        ks.tag('home'),
        ks.all,
      ]
      const before = await store.tokens(keys, 60)
      const result = await store.bump({ keys, ttl: 60 })
      expect(result.tokens).toHaveLength(keys.length)
      expect(result.schemes).toEqual([])
      const after = await store.tokens(keys, 60)
      expect(after.tokens).toEqual(result.tokens)
      for (const [i, t] of after.tokens.entries()) expect(t).not.toBe(before.tokens[i])
      expect(new Set(result.tokens).size).toBe(keys.length)
    })

    it('expires tokens after their ttl, and a read refreshes the ttl', async () => {
      const ks = space()
      const k = ks.row('users', 'ttl')
      const [t1] = (await store.tokens([k], 1)).tokens
      await sleep(600)
      const [t2] = (await store.tokens([k], 1)).tokens
      await sleep(600)
      const [t3] = (await store.tokens([k], 1)).tokens
      expect(t2).toBe(t1)
      expect(t3).toBe(t1)
      await sleep(1400)
      const [t4] = (await store.tokens([k], 1)).tokens
      expect(t4).not.toBe(t1)
    })

    it('a read with a short ttl never shortens the life of a token others rely on', async () => {
      const ks = space()
      const k = ks.table('users')
      const [t1] = (await store.tokens([k], 60)).tokens
      await store.read({ entry: ks.value('e'), keys: [k], ttl: 1 })
      await store.tokens([k], 1)
      await sleep(1300)
      expect((await store.tokens([k], 60)).tokens[0]).toBe(t1)
    })

    // ------------------------------------------------------------ fences

    it('fenced bumps write tokens starting with ~ that expire after fenceMs, even when read', async () => {
      const ks = space()
      const keys = [ks.row('users', '1'), ks.table('users'), ks.all]
      const before = await store.tokens(keys, 60)
      const fenced = await store.bump({ keys, ttl: 60, fenceMs: 400 })
      for (const t of fenced.tokens) expect(isFenced(t)).toBe(true)
      expect(new Set(fenced.tokens).size).toBe(3)
      await sleep(150)
      // Reading a fenced token neither lifts it nor extends its life.
      expect((await store.tokens(keys, 60)).tokens).toEqual(fenced.tokens)
      const r = await store.read({ entry: ks.value('e'), keys, ttl: 60 })
      expect(keys.map((k) => r.current.get(k))).toEqual(fenced.tokens)
      await sleep(450)
      const after = await store.tokens(keys, 60)
      for (const [i, t] of after.tokens.entries()) {
        expect(isFenced(t)).toBe(false)
        expect(t).not.toBe(before.tokens[i])
        expect(t).not.toBe(fenced.tokens[i])
      }
    })

    it('lift ends one fence per key: a key fenced once gets a fresh unfenced token, an unfenced key is left alone', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      const b = ks.row('posts', 'b')
      const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      const plain = await store.bump({ keys: [b], ttl: 60 })
      await store.lift({ keys: [a, b], tokens: [fenced.tokens[0]!, plain.tokens[0]!], ttl: 60 })
      const now = await store.tokens([a, b], 60)
      expect(isFenced(now.tokens[0])).toBe(false)
      expect(now.tokens[0]).not.toBe(fenced.tokens[0])
      expect(now.tokens[1]).toBe(plain.tokens[0])
    })

    it('fences stack: a quick commit lifting its fence leaves the key fenced for a slower one still under way', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      const slow = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      const quick = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      expect(quick.tokens[0]).not.toBe(slow.tokens[0])
      await store.lift({ keys: [a], tokens: quick.tokens, ttl: 60 })
      const [between] = (await store.tokens([a], 60)).tokens
      expect(isFenced(between)).toBe(true)
      await store.lift({ keys: [a], tokens: quick.tokens, ttl: 60 })
      expect((await store.tokens([a], 60)).tokens[0]).toBe(between)
      await store.lift({ keys: [a], tokens: slow.tokens, ttl: 60 })
      const [after] = (await store.tokens([a], 60)).tokens
      expect(isFenced(after)).toBe(false)
    })

    it('a plain bump of a fenced key keeps it fenced (another commit is still under way) with a new token', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      const plain = await store.bump({ keys: [a], ttl: 60 })
      expect(isFenced(plain.tokens[0])).toBe(true)
      expect(plain.tokens[0]).not.toBe(fenced.tokens[0])
      expect((await store.tokens([a], 60)).tokens[0]).toBe(plain.tokens[0])
      await store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
      expect(isFenced((await store.tokens([a], 60)).tokens[0])).toBe(false)
    })

    it('a fence never lifted ends at its deadline, though later commits fence and lift the key meanwhile', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      await store.bump({ keys: [a], ttl: 60, fenceMs: 250 }) // never lifted: a writer that died
      await sleep(150)
      const later = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      await sleep(150) // the first fence's deadline has passed
      await store.lift({ keys: [a], tokens: later.tokens, ttl: 60 })
      expect(isFenced((await store.tokens([a], 60)).tokens[0])).toBe(false)
    })

    it('a lift whose own fence already ended ends no other commit\u2019s fence', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      const ended = await store.bump({ keys: [a], ttl: 60, fenceMs: 100 })
      await sleep(150)
      const other = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      await store.lift({ keys: [a], tokens: ended.tokens, ttl: 60 })
      expect((await store.tokens([a], 60)).tokens[0]).toBe(other.tokens[0])
      await store.lift({ keys: [a], tokens: other.tokens, ttl: 60 })
      expect(isFenced((await store.tokens([a], 60)).tokens[0])).toBe(false)
    })

    it('a key fenced by several commits expires with the latest fence still live', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      await store.bump({ keys: [a], ttl: 60, fenceMs: 600 })
      const long = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
      await store.lift({ keys: [a], tokens: long.tokens, ttl: 60 })
      const [left] = (await store.tokens([a], 60)).tokens
      expect(isFenced(left)).toBe(true)
      await sleep(700) // only the short fence was left: the key is gone with it
      const [after] = (await store.tokens([a], 60)).tokens
      expect(after).not.toBe(left)
      expect(isFenced(after)).toBe(false)
    })

    it('a lifted token lives the normal ttl, not the fence time', async () => {
      const ks = space()
      const a = ks.row('users', 'a')
      const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 300 })
      await store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
      const [lifted] = (await store.tokens([a], 60)).tokens
      await sleep(450)
      expect((await store.tokens([a], 60)).tokens[0]).toBe(lifted)
    })

    // ------------------------------------------------------------ read

    it('reads a missing entry: no entry, get-or-created tokens of the requested keys', async () => {
      const ks = space()
      const keys = [ks.row('users', '1'), ks.table('users'), ks.tag('x')]
      const r = await store.read({ entry: ks.value('none'), keys, ttl: 60 })
      expect(r.entry).toBeUndefined()
      expect(r.lease).toBeUndefined()
      expect(r.generation).not.toBe('')
      expect([...r.current.keys()].sort()).toEqual([...keys].sort())
      expect(keys.map((k) => r.current.get(k))).toEqual((await store.tokens(keys, 60)).tokens)
    })

    it('round-trips an entry and reads the tokens of its own keys and the counters of its fences without being asked', async () => {
      const ks = space()
      const keys = [ks.row('users', '1'), ks.row('posts', '9'), ks.tag('home')]
      const fences = [ks.counter('users'), ks.counter('posts')]
      await store.bump({ keys: [ks.table('posts')], counters: [ks.counter('posts')], ttl: 60 })
      const r0 = await store.read({ entry: ks.value('e'), keys, counters: fences, ttl: 60 })
      expect(fences.map((f) => r0.current.get(f))).toEqual(['0', '1'])
      const payload = `line one\nline two ünïcødé ${'x'.repeat(100_000)}`
      const freshUntil = Date.now() + 60_000
      expect(await store.write(writeOf(ks, 'e', r0, keys, { fences, payload, freshUntil }))).toBe(true)
      const r1 = await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })
      expect(r1.entry).toEqual({
        keys,
        tokens: keys.map((k) => r0.current.get(k)),
        fences,
        freshUntil,
        generation: r0.generation,
        payload,
      })
      for (const k of [...keys, ...fences]) expect(r1.current.get(k)).toBe(r0.current.get(k))
      expect(r1.generation).toBe(r0.generation)
    })

    it('takes the lease only when the entry is missing, stale or invalid, and only if nobody holds it', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const entry = ks.value('e')
      const lease = ks.lease(entry)
      const ask = { entry, keys: [k], ttl: 60, lease, leaseMs: 5000 }
      const miss = await store.read(ask)
      expect(miss.lease).toBeTruthy()
      const other = await store.read(ask)
      expect(other.lease).toBeUndefined()
      expect(
        await store.write(writeOf(ks, 'e', miss, [k], { lease: { key: lease, owner: miss.lease! } })),
      ).toBe(true)
      const hit = await store.read(ask)
      expect(hit.entry).toBeDefined()
      expect(hit.lease).toBeUndefined()
      await store.bump({ keys: [k], ttl: 60 })
      const invalid = await store.read(ask)
      expect(invalid.entry).toBeDefined()
      expect(invalid.lease).toBeTruthy()
      await store.release(lease, invalid.lease!)
      const r = await store.read({ entry, keys: [k], ttl: 60 })
      expect(
        await store.write(writeOf(ks, 'e', r, [k], { freshUntil: Date.now() - 1, lease: undefined })),
      ).toBe(true)
      const stale = await store.read(ask)
      expect(stale.entry).toBeDefined()
      expect(stale.lease).toBeTruthy()
    })

    it('an entry read as a hit many times in a row still misses, taking the lease, once a key is bumped or deleted, a key it gained moves, or it goes stale', async () => {
      // A store may read an entry it keeps hitting by a cheaper path (Redis: MGET, no script).
      const ks = space()
      const [a, b] = [ks.row('users', '1'), ks.row('users', '2')]
      const fence = ks.counter('users')
      const entry = ks.value('e')
      const lease = ks.lease(entry)
      const ask = { entry, keys: [a], ttl: 60, lease, leaseMs: 5000 }
      const fill = async (keys: string[], extra: Partial<WriteRequest> = {}) => {
        const r = await store.read({ entry, keys, counters: [fence], ttl: 60 })
        expect(await store.write(writeOf(ks, 'e', r, keys, { fences: [fence], ...extra }))).toBe(true)
      }
      const hits = async (keys: string[]) => {
        for (let i = 0; i < 5; i++) {
          const h = await store.read(ask)
          expect(h.lease).toBeUndefined()
          expect(h.entry?.keys).toEqual(keys)
          expect(keys.map((k) => h.current.get(k))).toEqual(h.entry?.tokens)
          expect(h.current.get(fence)).toBe('0')
        }
      }
      const misses = async (key: string) => {
        const r = await store.read(ask)
        expect(r.entry).toBeDefined()
        expect(r.lease).toBeTruthy()
        expect(r.current.get(key)).toBeTruthy()
        expect(r.current.get(key)).not.toBe(r.entry!.tokens[r.entry!.keys.indexOf(key)])
        await store.release(lease, r.lease!)
      }
      await fill([a])
      await hits([a])
      await store.bump({ keys: [a], ttl: 60 })
      await misses(a)
      await fill([a])
      await hits([a])
      await store.delete([a])
      await misses(a)
      await fill([a, b]) // the entry gains a key its readers do not ask for
      await hits([a, b])
      await store.bump({ keys: [b], ttl: 60 })
      await misses(b)
      await fill([a], { freshUntil: Date.now() + 300 })
      await hits([a])
      await sleep(400)
      const stale = await store.read(ask)
      expect(stale.entry?.tokens).toEqual([stale.current.get(a)])
      expect(stale.lease).toBeTruthy()
    })

    it('expires entries after their ttlMs', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const r = await store.read({ entry: ks.value('e'), keys: [k], ttl: 60 })
      expect(await store.write(writeOf(ks, 'e', r, [k], { ttlMs: 150, freshUntil: Date.now() + 100 }))).toBe(
        true,
      )
      expect((await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry).toBeDefined()
      await sleep(350)
      expect((await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry).toBeUndefined()
    })

    // ------------------------------------------------------------ write (compare-and-set)

    it('refuses a write whose expected token moved, and releases the lease anyway', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const entry = ks.value('e')
      const lease = ks.lease(entry)
      const r = await store.read({ entry, keys: [k], ttl: 60, lease, leaseMs: 5000 })
      expect(r.lease).toBeTruthy()
      await store.bump({ keys: [k], ttl: 60 })
      expect(await store.write(writeOf(ks, 'e', r, [k], { lease: { key: lease, owner: r.lease! } }))).toBe(
        false,
      )
      expect((await store.read({ entry, keys: [], ttl: 60 })).entry).toBeUndefined()
      const again = await store.acquire(lease, 1000)
      expect(again).toBeTruthy()
    })

    it('refuses a write whose expected token is fenced', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      await store.bump({ keys: [k], ttl: 60, fenceMs: 5000 })
      const r = await store.read({ entry: ks.value('e'), keys: [k], ttl: 60 })
      expect(isFenced(r.current.get(k))).toBe(true)
      expect(await store.write(writeOf(ks, 'e', r, [k]))).toBe(false)
      expect((await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry).toBeUndefined()
    })

    it('refuses a write whose expected token expired meanwhile', async () => {
      const ks = space()
      const k = ks.row('users', 'gone')
      const r = await store.read({ entry: ks.value('e'), keys: [k], ttl: 1 })
      await sleep(1300)
      expect(await store.write(writeOf(ks, 'e', r, [k]))).toBe(false)
    })

    /** The bump counters of these tables, read now: the baseline of a load that starts now. */
    const baseline = async (ks: Keyspace, ...tables: string[]) => {
      const keys = tables.map((t) => ks.counter(t))
      return { keys, values: await store.counters(keys) }
    }

    it('reads bump counters without creating them; every bump increments each counter it is given once', async () => {
      const ks = space()
      const c = ks.counter('posts')
      expect(await store.counters([c, ks.counter('users')])).toEqual(['0', '0'])
      expect(await store.counters([c])).toEqual(['0'])
      const b = await store.bump({
        keys: [ks.row('posts', '1'), ks.table('posts'), ks.tag('t')],
        counters: [c],
        ttl: 60,
      })
      expect(await store.counters([c])).toEqual(['1'])
      // Tokens of the counter's group carry its new value; others none.
      expect(b.tokens.map(tokenSeq)).toEqual([1, 1, 0])
      await store.bump({ keys: [ks.row('posts', '2')], counters: [c], ttl: 60, fenceMs: 1000 })
      expect(await store.counters([c])).toEqual(['2'])
      expect(tokenSeq((await store.tokens([ks.row('posts', '2')], 60)).tokens[0]!)).toBe(2)
      // A token created by a read carries none.
      expect(tokenSeq((await store.tokens([ks.row('posts', '3')], 60)).tokens[0]!)).toBe(0)
      const r = await store.read({ entry: ks.value('e'), keys: [], counters: [c], ttl: 60 })
      expect(r.current.get(c)).toBe('2')
    })

    it('reads discovered keys at write time, creating missing ones, and stores their current tokens', async () => {
      const ks = space()
      const declared = ks.row('users', '1')
      const known = ks.row('posts', '2') // exists before the write
      const fresh = ks.row('tags', '3') // missing until the write
      const [knownToken] = (await store.tokens([known], 60)).tokens
      const r = await store.read({ entry: ks.value('e'), keys: [declared], ttl: 60 })
      const req = writeOf(ks, 'e', r, [declared], { counters: await baseline(ks, 'posts', 'tags') })
      expect(await store.write({ ...req, keys: [declared, known, fresh] })).toBe(true)
      const now = await store.tokens([declared, known, fresh], 60)
      expect(now.tokens[1]).toBe(knownToken)
      const e = (await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry!
      expect(e.keys).toEqual([declared, known, fresh])
      expect(e.tokens).toEqual(now.tokens)
    })

    it('refuses a write when a discovered key holds a fenced token', async () => {
      const ks = space()
      const declared = ks.row('users', '1')
      const found = ks.row('posts', '2')
      const r = await store.read({ entry: ks.value('e'), keys: [declared], ttl: 60 })
      await store.bump({ keys: [found], ttl: 60, fenceMs: 5000 })
      const counters = await baseline(ks, 'posts')
      expect(
        await store.write({ ...writeOf(ks, 'e', r, [declared], { counters }), keys: [declared, found] }),
      ).toBe(false)
      expect((await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry).toBeUndefined()
    })

    it('refuses a discovered key bumped after the load began, accepts one bumped before; refuses one of a table it did not fence', async () => {
      const ks = space()
      const c = ks.counter('posts')
      const found = ks.row('posts', '2')
      await store.bump({ keys: [found], counters: [c], ttl: 60 })
      const counters = await baseline(ks, 'posts')
      const r = await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })
      const write = (body: string, extra: Partial<WriteRequest>) =>
        store.write({ ...writeOf(ks, body, r, []), keys: [found], ...extra })
      expect(await write('before', { counters })).toBe(true)
      // Another row of the table bumped meanwhile: this dependency did not change, still fine.
      await store.bump({ keys: [ks.row('posts', '9')], counters: [c], ttl: 60 })
      expect(await write('unrelated', { counters })).toBe(true)
      await store.bump({ keys: [found], counters: [c], ttl: 60 })
      expect(await write('after', { counters })).toBe(false)
      expect(await write('unfenced', { counters: { keys: [], values: [] } })).toBe(false)
    })

    it('refuses a write read under another generation, and one read under none', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const entry = ks.value('e')
      const lease = ks.lease(entry)
      const r = await store.read({ entry, keys: [k], ttl: 60, lease, leaseMs: 5000 })
      const req = writeOf(ks, 'e', r, [k], { lease: { key: lease, owner: r.lease! } })
      expect(await store.write({ ...req, generation: `${r.generation}-other` })).toBe(false)
      expect(await store.write({ ...req, generation: '' })).toBe(false)
      expect((await store.read({ entry, keys: [], ttl: 60 })).entry).toBeUndefined()
      expect(await store.acquire(lease, 1000)).toBeTruthy()
    })

    it('registers schemes with the entry, bumping the version only for a new scheme', async () => {
      const ks = space()
      const k = ks.row('posts', '1')
      const loc = { hash: ks.schemes('posts'), version: ks.schemeVersion('posts') }
      const rec = (id: string) => ({ ...loc, id, meta: `meta of ${id}` })
      expect(await store.schemes([loc])).toEqual([{ ...loc, current: '0', schemes: new Map() }])
      const r = await store.read({ entry: ks.value('a'), keys: [k], ttl: 60 })
      const counters = await baseline(ks, 'posts')
      expect(await store.write(writeOf(ks, 'a', r, [k], { counters, schemes: [rec('s1')] }))).toBe(true)
      expect(await store.write(writeOf(ks, 'b', r, [k], { counters, schemes: [rec('s1')] }))).toBe(true)
      let [set] = await store.schemes([loc])
      expect(set!.current).toBe('1')
      expect(set!.schemes).toEqual(new Map([['s1', 'meta of s1']]))
      expect(await store.write(writeOf(ks, 'c', r, [k], { counters, schemes: [rec('s1'), rec('s2')] }))).toBe(
        true,
      )
      ;[set] = await store.schemes([loc])
      expect(set!.current).toBe('2')
      expect(set!.schemes.get('s2')).toBe('meta of s2')
    })

    it('a refused write registers no scheme', async () => {
      const ks = space()
      const k = ks.row('posts', '1')
      const loc = { hash: ks.schemes('posts'), version: ks.schemeVersion('posts') }
      const r = await store.read({ entry: ks.value('a'), keys: [k], ttl: 60 })
      const counters = await baseline(ks, 'posts')
      await store.bump({ keys: [k], ttl: 60 })
      expect(
        await store.write(writeOf(ks, 'a', r, [k], { counters, schemes: [{ ...loc, id: 's1', meta: 'm' }] })),
      ).toBe(false)
      expect((await store.schemes([loc]))[0]!.current).toBe('0')
    })

    it('a scheme new to its table needs the table unbumped since the load began; one registered before it does not', async () => {
      const ks = space()
      const c = ks.counter('posts')
      const loc = { hash: ks.schemes('posts'), version: ks.schemeVersion('posts') }
      const r = await store.read({ entry: ks.value('a'), keys: [], ttl: 60 })
      const write = (body: string, counters: { keys: string[]; values: string[] }, id: string) =>
        store.write({ ...writeOf(ks, body, r, []), counters, schemes: [{ ...loc, id, meta: 'm' }] })
      const early = await baseline(ks, 'posts')
      // A writer that did not know the scheme bumps the table meanwhile.
      await store.bump({ keys: [ks.table('posts')], counters: [c], ttl: 60 })
      expect(await write('new', early, 's1')).toBe(false)
      const now = await baseline(ks, 'posts')
      expect(await write('new-now', now, 's1')).toBe(true)
      // Registered before the next load began: later bumps of the table no longer matter.
      const next = await baseline(ks, 'posts')
      await store.bump({ keys: [ks.table('posts')], counters: [c], ttl: 60 })
      expect(await write('known', next, 's1')).toBe(true)
      // But a load that began before the registration still cannot count on it.
      expect(await write('stale-baseline', early, 's1')).toBe(false)
    })

    it('a bump reports the scheme sets whose version differs from the known one', async () => {
      const ks = space()
      const k = ks.row('posts', '1')
      const posts = { hash: ks.schemes('posts'), version: ks.schemeVersion('posts') }
      const users = { hash: ks.schemes('users'), version: ks.schemeVersion('users') }
      const r = await store.read({ entry: ks.value('a'), keys: [k], ttl: 60 })
      const counters = await baseline(ks, 'posts')
      expect(
        await store.write(
          writeOf(ks, 'a', r, [k], { counters, schemes: [{ ...posts, id: 's1', meta: 'm1' }] }),
        ),
      ).toBe(true)
      const same = await store.bump({ keys: [k], ttl: 60, schemes: [{ ...posts, known: '1' }] })
      expect(same.schemes).toEqual([])
      const moved = await store.bump({
        keys: [k, ks.table('users')],
        ttl: 60,
        schemes: [
          { ...posts, known: '?' },
          { ...users, known: '0' },
        ],
      })
      expect(moved.schemes).toEqual([{ ...posts, current: '1', schemes: new Map([['s1', 'm1']]) }])
    })

    // ------------------------------------------------------------ delete, prefixes

    it('deletes tokens and entries; missing keys are fine', async () => {
      const ks = space()
      const k = ks.row('users', '1')
      const r = await store.read({ entry: ks.value('e'), keys: [k], ttl: 60 })
      expect(await store.write(writeOf(ks, 'e', r, [k]))).toBe(true)
      await store.delete([k, ks.value('e'), ks.row('users', 'never')])
      expect((await store.read({ entry: ks.value('e'), keys: [], ttl: 60 })).entry).toBeUndefined()
      expect((await store.tokens([k], 60)).tokens[0]).not.toBe(r.current.get(k))
    })

    it('renews every unfenced token under the prefixes (fenced ones stay), leaves schemes, counters and other namespaces alone', async () => {
      const ks = space()
      const other = space()
      const c = ks.counter('posts')
      const keys = [ks.row('users', '1'), ks.table('posts'), ks.tag('home'), ks.all]
      await store.bump({ keys: [ks.table('posts')], counters: [c], ttl: 60 })
      const before = await store.tokens(keys, 60)
      const fenced = await store.bump({ keys: [ks.row('posts', '7')], counters: [c], ttl: 60, fenceMs: 5000 })
      const [otherToken] = (await store.tokens([other.row('users', '1')], 60)).tokens
      const loc = { hash: ks.schemes('posts'), version: ks.schemeVersion('posts') }
      const r = await store.read({ entry: ks.value('e'), keys: [ks.row('posts', '1')], ttl: 60 })
      const counters = await baseline(ks, 'posts')
      expect(
        await store.write(
          writeOf(ks, 'e', r, [ks.row('posts', '1')], {
            counters,
            schemes: [{ ...loc, id: 's1', meta: 'm' }],
          }),
        ),
      ).toBe(true)
      const n = await store.renewPrefixes(ks.tokenPrefixes, 60)
      expect(n).toBe(keys.length + 1)
      const after = await store.tokens(keys, 60)
      for (const [i, t] of after.tokens.entries()) {
        expect(isFenced(t)).toBe(false)
        expect(t).not.toBe(before.tokens[i])
      }
      // The fence is its commit's: still there, and still liftable.
      expect((await store.tokens([ks.row('posts', '7')], 60)).tokens[0]).toBe(fenced.tokens[0])
      // The renewal counts as a bump of the table: a load that began before it cannot store what it found.
      expect(Number((await store.counters([c]))[0])).toBeGreaterThan(Number(counters.values[0]))
      expect(await store.write({ ...writeOf(ks, 'f', r, []), counters, keys: [ks.table('posts')] })).toBe(
        false,
      )
      expect((await store.tokens([other.row('users', '1')], 60)).tokens[0]).toBe(otherToken)
      const [set] = await store.schemes([loc])
      expect(set!.current).toBe('1')
      expect(set!.schemes.get('s1')).toBe('m')
    })

    it('a lift increments the counter of the tokens it lifts, like a bump', async () => {
      const ks = space()
      const c = ks.counter('posts')
      const k = ks.row('posts', '1')
      const fenced = await store.bump({ keys: [k], counters: [c], ttl: 60, fenceMs: 5000 })
      const counters = await baseline(ks, 'posts')
      await store.lift({ keys: [k], tokens: fenced.tokens, ttl: 60, counters: [c] })
      const [lifted] = (await store.tokens([k], 60)).tokens
      expect(isFenced(lifted)).toBe(false)
      expect(tokenSeq(lifted!)).toBeGreaterThan(Number(counters.values[0]))
    })

    it('deletes by prefix exactly the keys under it, glob characters included', async () => {
      const ks = space()
      const v1 = ks.versionPrefixOf('1')
      await store.setRaw(`${v1}a}:v`, 'a')
      await store.setRaw(`${v1}b*?[x]}:v`, 'b')
      await store.setRaw(`${v1}c}:l`, 'c')
      await store.setRaw(`${ks.versionPrefixOf('10')}a}:v`, 'd')
      await store.setRaw(`${ks.versionPrefixOf('2')}a}:v`, 'e')
      expect(await store.deletePrefix(v1)).toBe(3)
      expect(await store.getRaw(`${v1}a}:v`)).toBeUndefined()
      expect(await store.getRaw(`${ks.versionPrefixOf('10')}a}:v`)).toBe('d')
      expect(await store.getRaw(`${ks.versionPrefixOf('2')}a}:v`)).toBe('e')
    })

    // ------------------------------------------------------------ leases, raw values, registry

    it('leases are exclusive, expire, and are released only by their owner', async () => {
      const ks = space()
      const k = ks.lease(ks.value('x'))
      const a = await store.acquire(k, 300)
      expect(a).toBeTruthy()
      expect(await store.acquire(k, 300)).toBeUndefined()
      await store.release(k, 'not-the-owner')
      expect(await store.acquire(k, 300)).toBeUndefined()
      await store.release(k, a!)
      const b = await store.acquire(k, 200)
      expect(b).toBeTruthy()
      await sleep(350)
      expect(await store.acquire(k, 200)).toBeTruthy()
    })

    it('reads and writes raw values, with and without a ttl', async () => {
      const ks = space()
      const k = ks.collection('c')
      expect(await store.getRaw(k)).toBeUndefined()
      await store.setRaw(k, 'v\nwith lines')
      expect(await store.getRaw(k)).toBe('v\nwith lines')
      await store.setRaw(`${k}:r`, 'short', 150)
      expect(await store.getRaw(`${k}:r`)).toBe('short')
      await sleep(300)
      expect(await store.getRaw(`${k}:r`)).toBeUndefined()
      expect(await store.getRaw(k)).toBe('v\nwith lines')
    })

    it('registers members once, oldest first, and unregisters them', async () => {
      const k = space().versions
      await store.register(k, '1')
      await sleep(5)
      await store.register(k, '2')
      expect(await store.register(k, '1')).toEqual(['1', '2'])
      await store.unregister(k, '1')
      expect(await store.register(k, '3')).toEqual(['2', '3'])
    })

    // ------------------------------------------------------------ pub/sub

    it('delivers published messages to subscribers and tells them the subscription is live', async () => {
      if (!store.publish || !store.subscribe) return
      const ch = space().bumps
      const got: string[] = []
      const states: boolean[] = []
      const off = await store.subscribe(
        ch,
        (m) => got.push(m),
        (live) => states.push(live),
      )
      await until(() => states.includes(true))
      expect(states[0]).toBe(true)
      await store.publish(ch, 'hello\nworld')
      await until(() => got.length > 0)
      await off()
      await store.publish(ch, 'after')
      await sleep(100)
      expect(got).toEqual(['hello\nworld'])
    })

    it('a bump publishes its message on the channel it is given', async () => {
      if (!store.publish || !store.subscribe) return
      const ks = space()
      const got: string[] = []
      let live = false
      const off = await store.subscribe(
        ks.bumps,
        (m) => got.push(m),
        (state) => {
          live = state
        },
      )
      // Messages are best effort: only those sent once the subscription is live are owed.
      await until(() => live)
      await store.bump({ keys: [ks.row('users', '1'), ks.all], ttl: 60, channel: ks.bumps })
      await store.bump({ keys: [ks.row('users', '2')], ttl: 60, channel: ks.bumps, message: '#me 1\nx' })
      await until(() => got.length >= 2)
      await off()
      expect(got).toEqual([`${ks.row('users', '1')}\n${ks.all}`, '#me 1\nx'])
    })

    // ------------------------------------------------------------ freshkey on this store

    it('freshkey semantics hold: keyFor changes on bump only, wrap hits until a change', async () => {
      const fk = createFreshkey({ store, namespace: space().ns, logger: false })
      const k1 = await fk.keyFor(dep.row('users', 1), 'page', 2)
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).toBe(k1)
      await fk.changed({ table: 'users', kind: 'update', pk: 2 })
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).toBe(k1)
      await fk.changed({ table: 'users', kind: 'update', pk: '1' })
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).not.toBe(k1)
      let loads = 0
      const load = async () => ++loads
      expect(await fk.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      expect(await fk.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      await fk.changed({ table: 'posts', kind: 'delete', pk: 1 })
      expect(await fk.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      await fk.close()
    })

    if (factory.shared) {
      it('two stores on one backend agree on tokens and see each other’s bumps and values', async () => {
        const other = await open()
        for (let i = 0; i < 200 && (other.generation?.() ?? 'x') === ''; i++) await sleep(10)
        const namespace = space().ns
        const a = createFreshkey({ store, namespace, logger: false })
        const b = createFreshkey({ store: other, namespace, logger: false })
        const [ka, kb] = await Promise.all([a.keyFor(dep.row('posts', 7)), b.keyFor(dep.row('posts', 7))])
        expect(ka).toBe(kb)
        await b.changed({ table: 'posts', kind: 'delete', pk: 7 })
        expect(await a.keyFor(dep.row('posts', 7))).not.toBe(ka)
        let loads = 0
        const load = async () => ++loads
        await a.wrap(['posts', dep.table('posts')], load)
        expect(await b.wrap(['posts', dep.table('posts')], load)).toBe(1)
        expect(loads).toBe(1)
        await a.close()
        await b.close()
      })

      it('concurrent get-or-create of the same missing tokens yields one token per key', async () => {
        const other = await open()
        const ks = space()
        const keys = Array.from({ length: 10 }, (_, i) => ks.row(`t${i % 3}`, String(i)))
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).tokens(keys, 60)),
        )
        for (const r of results) expect(r.tokens).toEqual(results[0]!.tokens)
      })

      it('a lease taken through one store holds against the other', async () => {
        const other = await open()
        const ks = space()
        const entry = ks.value('e')
        const ask = { entry, keys: [ks.row('users', '1')], ttl: 60, lease: ks.lease(entry), leaseMs: 5000 }
        const first = await store.read(ask)
        expect(first.lease).toBeTruthy()
        expect((await other.read(ask)).lease).toBeUndefined()
      })
    }
  })
}
