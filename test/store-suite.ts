import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshkey, dep, type Store } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** How the suite gets stores: `make()` returns a store; two calls on a shared backend must see each other. */
export interface StoreFactory {
  make(): Promise<Store> | Store
  /** Stores from separate `make()` calls share data (e.g. two clients of one Redis). */
  readonly shared: boolean
}

let seq = 0
const ns = () => `suite-${process.pid}-${Date.now()}-${seq++}`

/** The store conformance suite: every store (memory, Redis) must pass it unchanged. */
export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store
    const opened: Store[] = []
    const open = async () => {
      const s = await factory.make()
      opened.push(s)
      return s
    }
    beforeAll(async () => {
      store = await open()
    })
    afterAll(async () => {
      for (const s of opened) await s.close()
    })

    it('creates a missing token and returns the same token until bumped', async () => {
      const k = `${ns()}:t:a`
      const [a1] = await store.tokens([k], 60)
      const [a2] = await store.tokens([k], 60)
      expect(a1).toBeTruthy()
      expect(a2).toBe(a1)
      await store.bump([k], 60)
      const [a3] = await store.tokens([k], 60)
      expect(a3).not.toBe(a1)
    })

    it('gives distinct random tokens to distinct keys, also across calls', async () => {
      const base = ns()
      const keys = Array.from({ length: 50 }, (_, i) => `${base}:t:${i}`)
      const first = await store.tokens(keys, 60)
      const more = await store.tokens(
        keys.map((k) => `${k}x`),
        60,
      )
      expect(new Set([...first, ...more]).size).toBe(100)
    })

    it('bumps many keys in one call, each to a new token', async () => {
      const base = ns()
      const keys = Array.from({ length: 20 }, (_, i) => `${base}:t:${i}`)
      const before = await store.tokens(keys, 60)
      await store.bump(keys, 60)
      const after = await store.tokens(keys, 60)
      for (const [i, t] of after.entries()) expect(t).not.toBe(before[i])
    })

    it('expires tokens after their ttl, and a read refreshes the ttl', async () => {
      const k = `${ns()}:t:ttl`
      const [t1] = await store.tokens([k], 1)
      await sleep(600)
      const [t2] = await store.tokens([k], 1) // refreshed
      await sleep(600)
      const [t3] = await store.tokens([k], 1)
      expect(t2).toBe(t1)
      expect(t3).toBe(t1)
      await sleep(1300)
      const [t4] = await store.tokens([k], 1)
      expect(t4).not.toBe(t1)
    })

    it('reads an entry with its tokens in one call and validates it against its own tokens', async () => {
      const base = ns()
      const tk = [`${base}:t:x`, `${base}:t:y`]
      const entryKey = `${base}:v:e`
      const r0 = await store.read(entryKey, tk, 60)
      expect(r0.entry).toBeUndefined()
      expect(r0.valid).toBe(false)
      const ok = await store.write(
        entryKey,
        { tokenKeys: tk, tokens: r0.tokens, freshUntil: Date.now() + 60_000, payload: 'P\nwith newline' },
        60_000,
      )
      expect(ok).toBe(true)
      const r1 = await store.read(entryKey, tk, 60)
      expect(r1.valid).toBe(true)
      expect(r1.entry?.payload).toBe('P\nwith newline')
      expect(r1.entry?.tokens).toEqual(r0.tokens)
      expect(r1.tokens).toEqual(r0.tokens)
      // Reading by key alone (no token keys) still validates against the entry's own tokens.
      expect((await store.read(entryKey, [], 60)).valid).toBe(true)
      await store.bump([tk[1]!], 60)
      const r2 = await store.read(entryKey, [], 60)
      expect(r2.valid).toBe(false)
      expect(r2.entry?.payload).toBe('P\nwith newline')
    })

    it('compare-and-set refuses an entry whose tokens moved before the write', async () => {
      const base = ns()
      const tk = [`${base}:t:x`]
      const { tokens } = await store.read(`${base}:v:e`, tk, 60)
      await store.bump(tk, 60)
      const ok = await store.write(
        `${base}:v:e`,
        { tokenKeys: tk, tokens, freshUntil: Date.now() + 60_000, payload: 'old' },
        60_000,
      )
      expect(ok).toBe(false)
      expect((await store.read(`${base}:v:e`, tk, 60)).entry).toBeUndefined()
    })

    it('compare-and-set refuses an entry whose token expired meanwhile', async () => {
      const base = ns()
      const tk = [`${base}:t:gone`]
      const { tokens } = await store.read(`${base}:v:e`, tk, 1)
      await sleep(1200)
      const ok = await store.write(
        `${base}:v:e`,
        { tokenKeys: tk, tokens, freshUntil: Date.now() + 60_000, payload: 'x' },
        60_000,
      )
      expect(ok).toBe(false)
    })

    it('expires entries after their ttl', async () => {
      const base = ns()
      const { tokens } = await store.read(`${base}:v:e`, [`${base}:t`], 60)
      await store.write(
        `${base}:v:e`,
        { tokenKeys: [`${base}:t`], tokens, freshUntil: Date.now() + 100, payload: 'x' },
        150,
      )
      expect((await store.read(`${base}:v:e`, [], 60)).entry).toBeDefined()
      await sleep(300)
      expect((await store.read(`${base}:v:e`, [], 60)).entry).toBeUndefined()
    })

    it('leases are exclusive, expire, and are released only by their owner', async () => {
      const k = `${ns()}:l:x`
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

    it('deletes by prefix exactly the keys under it', async () => {
      const base = ns()
      await store.setRaw(`${base}:@1:v:a`, 'a')
      await store.setRaw(`${base}:@1:v:b*?[x]`, 'b')
      await store.setRaw(`${base}:@2:v:a`, 'c')
      expect(await store.deletePrefix(`${base}:@1:`)).toBe(2)
      expect(await store.getRaw(`${base}:@1:v:a`)).toBeUndefined()
      expect(await store.getRaw(`${base}:@2:v:a`)).toBe('c')
    })

    it('registers members once, oldest first, and unregisters them', async () => {
      const k = `${ns()}:versions`
      await store.register(k, '1')
      await sleep(5)
      await store.register(k, '2')
      expect(await store.register(k, '1')).toEqual(['1', '2'])
      await store.unregister(k, '1')
      expect(await store.register(k, '3')).toEqual(['2', '3'])
    })

    it('delivers published messages to subscribers', async () => {
      if (!store.publish || !store.subscribe) throw new Error(`${name} has no pub/sub`)
      const ch = `${ns()}:ch`
      const got: string[] = []
      const off = await store.subscribe(ch, (m) => got.push(m))
      await store.publish(ch, 'hello')
      for (let i = 0; i < 50 && got.length === 0; i++) await sleep(10)
      await off()
      await store.publish(ch, 'after')
      await sleep(50)
      expect(got).toEqual(['hello'])
    })

    it('freshkey semantics hold on this store: keyFor changes on bump only', async () => {
      const fk = createFreshkey({ store, namespace: ns() })
      const k1 = await fk.keyFor(dep.row('users', 1), 'page', 2)
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).toBe(k1)
      await fk.changed({ table: 'users', kind: 'update', pk: 2 })
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).toBe(k1)
      await fk.changed({ table: 'users', kind: 'update', pk: '1' })
      expect(await fk.keyFor(dep.row('users', 1), 'page', 2)).not.toBe(k1)
    })

    if (factory.shared) {
      it('two stores on one backend agree on tokens and see each other’s bumps and values', async () => {
        const other = await open()
        const namespace = ns()
        const a = createFreshkey({ store, namespace })
        const b = createFreshkey({ store: other, namespace })
        const [ka, kb] = await Promise.all([a.keyFor(dep.row('posts', 7)), b.keyFor(dep.row('posts', 7))])
        expect(ka).toBe(kb)
        await b.changed({ table: 'posts', kind: 'delete', pk: 7 })
        expect(await a.keyFor(dep.row('posts', 7))).not.toBe(ka)
        let loads = 0
        const load = async () => ++loads
        await a.wrap(['v', dep.table('posts')], load)
        expect(await b.wrap(['v', dep.table('posts')], load)).toBe(1)
        expect(loads).toBe(1)
      })

      it('concurrent get-or-create of the same missing tokens yields one token per key', async () => {
        const other = await open()
        const base = ns()
        const keys = Array.from({ length: 10 }, (_, i) => `${base}:t:${i}`)
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).tokens(keys, 60)),
        )
        for (const r of results) expect(r).toEqual(results[0])
      })
    }
  })
}
