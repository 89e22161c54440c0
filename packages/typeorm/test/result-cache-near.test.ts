import { randomUUID } from 'node:crypto'
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises'
import { createFreshkey, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { DataSource, QueryEvent } from 'typeorm'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { freshkeyQueryResultCache, freshkeyTypeORM } from '../src/index.ts'
import { Article, entities, User } from './support/entities.ts'
import { combos, openDataSource, type StoreKind } from './support/services.ts'

// TypeORM's own cache (`find({ cache: true })`) served from the opt-in near cache: a hit makes no
// store call, the writing process reads its own write at once, and another instance (another
// process) drops its copy when the bump message arrives.

/** Two freshkey instances on one store and namespace, both with a near cache: two processes' worth. */
function openPair(kind: StoreKind) {
  const namespace = `typeorm-near-${randomUUID()}`
  const stores: Store[] =
    kind === 'memory' ? [memoryStore()] : [0, 1].map(() => redisStore(process.env.REDIS_URL!))
  const make = (store: Store) =>
    createFreshkey({ store, namespace, logger: false, nearCache: { maxEntries: 1000 } })
  const a = make(stores[0]!)
  const b = make(stores[1] ?? stores[0]!)
  return {
    a,
    b,
    async close() {
      await a.close()
      await b.close()
      for (const s of stores) await s.close()
    },
  }
}

async function live(...fks: Freshkey[]): Promise<void> {
  await vi.waitFor(() => expect(fks.every((fk) => fk.stats().nearCache?.live)).toBe(true), { timeout: 5000 })
}

describe.each(combos)('TypeORM query result cache with the near cache on %s with %s store', (db, store) => {
  let pair: ReturnType<typeof openPair>
  let ds: DataSource
  let other: DataSource | undefined
  let selects: string[]
  let close: () => Promise<void>
  beforeEach(async () => {
    pair = openPair(store)
    const opened = await openDataSource(db, entities, {
      cache: { provider: freshkeyQueryResultCache(pair.a), duration: 60_000 },
    })
    ds = opened.ds
    freshkeyTypeORM(ds, pair.a)
    // A second data source on the same database for the second instance (sql.js has one per data source).
    const second =
      db === 'postgres'
        ? await openDataSource(db, entities, {
            cache: { provider: freshkeyQueryResultCache(pair.b), duration: 60_000 },
          })
        : undefined
    other = second?.ds
    if (other) freshkeyTypeORM(other, pair.b)
    await ds.getRepository(User).save([{ id: 1, name: 'ada' }])
    await ds.getRepository(Article).save([
      { id: 1, title: 'one', published: true, category: 'news', authorId: 1 },
      { id: 2, title: 'two', published: true, category: 'tech', authorId: 1 },
    ])
    selects = []
    const count = {
      beforeQuery: (e: QueryEvent) => void (/^\s*SELECT/i.test(e.query) && selects.push(e.query)),
    }
    ds.subscribers.push(count)
    other?.subscribers.push(count)
    await live(pair.a, pair.b)
    close = async () => {
      await second?.close()
      await opened.close()
      await pair.close()
    }
  })
  afterEach(() => close())

  const titles = (source: DataSource, category = 'news') =>
    source
      .getRepository(Article)
      .find({ where: { category }, order: { id: 'ASC' }, cache: true })
      .then((rows) => rows.map((a) => a.title))

  test('hits come from process memory: no SELECT, no store read; hits are real entities, one per call', async () => {
    // Primed once the seed's bump messages have passed (an entry filled before one arrives is not kept).
    await vi.waitFor(async () => {
      const hits = pair.a.stats().nearHits
      expect(await titles(ds)).toEqual(['one'])
      expect(pair.a.stats().nearHits).toBe(hits + 1)
    })
    const reads: unknown[] = []
    const s = pair.a.store as unknown as { read: (...a: unknown[]) => unknown }
    const read = s.read
    s.read = (...args) => {
      reads.push(args)
      return read.apply(pair.a.store, args)
    }
    const before = pair.a.stats().nearHits
    const first = await ds
      .getRepository(Article)
      .find({ where: { category: 'news' }, order: { id: 'ASC' }, cache: true })
    const second = await ds
      .getRepository(Article)
      .find({ where: { category: 'news' }, order: { id: 'ASC' }, cache: true })
    expect(pair.a.stats().nearHits - before).toBe(2)
    expect(reads).toEqual([])
    expect(selects.length).toBe(1)
    expect(first[0]).toBeInstanceOf(Article)
    // The near cache holds TypeORM's serialized rows: every hit builds its own entities.
    expect(first[0]).not.toBe(second[0])
    first[0]!.title = 'mutated by the caller'
    expect(await titles(ds)).toEqual(['one'])
  })

  test("the writing process reads its write at once (its entries drop before the write's call returns)", async () => {
    expect(await titles(ds)).toEqual(['one'])
    expect(await titles(ds)).toEqual(['one'])
    const repo = ds.getRepository(Article)
    await repo.update(1, { title: 'uno' })
    expect(await titles(ds)).toEqual(['uno'])
    await repo.save({ id: 3, title: 'three', published: true, category: 'news', authorId: 1 })
    expect(await titles(ds)).toEqual(['uno', 'three'])
    await ds.transaction((em) => em.update(Article, 3, { title: 'tres' }))
    expect(await titles(ds)).toEqual(['uno', 'tres'])
    await ds.query(
      `UPDATE ${db === 'postgres' ? '"blog_articles"' : 'blog_articles'} SET title = 'raw' WHERE id = 1`,
    )
    expect(await titles(ds)).toEqual(['raw', 'tres'])
    // The other category's entry stayed in memory through all of it.
    expect(await titles(ds, 'tech')).toEqual(['two'])
    const hits = pair.a.stats().nearHits
    expect(await titles(ds, 'tech')).toEqual(['two'])
    expect(pair.a.stats().nearHits).toBe(hits + 1)
  })

  test('readers racing writers never see a write older than the last one that returned', async () => {
    const repo = ds.getRepository(Article)
    let returned = 0
    let stop = false
    let stale = 0
    let checked = 0
    const reader = async () => {
      while (!stop) {
        const floor = returned
        const [title] = await titles(ds)
        checked++
        if (Number(title!.replace(/^v/, '').replace('one', '0')) < floor) stale++
        // A near-cache hit does no I/O: yield, as a server between requests does, or the writer never runs.
        await turn()
      }
    }
    const readers = Array.from({ length: 6 }, reader)
    for (let v = 1; v <= 40; v++) {
      await repo.update(1, { title: `v${v}` })
      returned = v
      const [title] = await titles(ds)
      expect(title).toBe(`v${v}`)
      // Time for the readers to hit the refilled entry in memory before the next write.
      await sleep(10)
    }
    stop = true
    await Promise.all(readers)
    expect(stale).toBe(0)
    expect(checked).toBeGreaterThan(40)
    expect(pair.a.stats().nearHits).toBeGreaterThan(0)
  })

  // Declared on PostgreSQL only: sql.js keeps one database per data source, so no second instance shares it.
  if (db === 'postgres')
    test('another instance serves from memory, then drops its copy on the bump message', async () => {
      const peer = other!
      expect(await titles(peer)).toEqual(['one'])
      // A bump message of an earlier write may still reach the peer and drop its copy once: the
      // peer serves from memory as soon as it holds one again.
      await vi.waitFor(
        async () => {
          const before = pair.b.stats().nearHits
          expect(await titles(peer)).toEqual(['one'])
          expect(pair.b.stats().nearHits).toBe(before + 1)
        },
        { timeout: 3000, interval: 5 },
      )
      await ds.getRepository(Article).update(1, { title: 'uno' })
      // The writer is fresh at once; the peer as soon as the bump message reached it.
      expect(await titles(ds)).toEqual(['uno'])
      await vi.waitFor(async () => expect(await titles(peer)).toEqual(['uno']), {
        timeout: 3000,
        interval: 5,
      })
      // And stays fresh: the dropped entry is not put back from an old read.
      for (let i = 0; i < 5; i++) expect(await titles(peer)).toEqual(['uno'])
      expect(pair.b.stats().nearCache?.lagMs.count).toBeGreaterThan(0)
    })
})
