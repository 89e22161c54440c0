import { createFreshkey, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import {
  AdapterSetupError,
  type FreshkeyMikroORM,
  freshkeyCacheAdapter,
  freshkeyMikroORM,
} from '../src/index.ts'
import { backends, makeStore, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, Comment, entities, User } from './support/entities.ts'
import { queryText } from './support/observe.ts'
import { seed } from './support/seed.ts'

/** A store that counts the calls it answers (round trips). */
function counting(store: Store): Store & { calls: string[] } {
  const calls: string[] = []
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'calls') return calls
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (['read', 'write', 'tokens', 'bump', 'lift'].includes(String(prop))) calls.push(String(prop))
        return value.apply(target, args)
      }
    },
  }) as Store & { calls: string[] }
}

describe.each(backends)('MikroORM result cache backed by freshkey ($name)', (backend) => {
  let ctx: OpenOrm
  let fk: Freshkey
  let store: Store & { calls: string[] }
  let handle: FreshkeyMikroORM
  let selects = 0
  const em = () => ctx.orm.em.fork() as unknown as SqlEntityManager

  beforeAll(async () => {
    store = counting(makeStore(backend.store))
    fk = createFreshkey({ store, namespace: `rc-${Math.random()}` })
    ctx = await openOrm(backend.db, {
      entities,
      resultCache: { adapter: freshkeyCacheAdapter(fk) },
      debug: ['query'],
      logger: (m: string) => {
        if (queryText(m).startsWith('select')) selects++
      },
    })
  })
  afterAll(async () => {
    await ctx.close()
    await fk.close()
    await store.close()
  })
  beforeEach(async () => {
    await ctx.clear()
    handle = freshkeyMikroORM(ctx.orm, fk)
    await seed(ctx.orm.em)
    // schema.clear() is invisible to freshkey: every test starts from an empty result cache.
    await ctx.orm.config.getResultCacheAdapter().clear()
    await fk.idle()
    selects = 0
  })
  afterEach(() => handle.dispose())

  /** A write, then its fence lifted (a read racing the lift is served, not stored). */
  const written = async (write: () => Promise<unknown>) => {
    await write()
    await fk.idle()
  }
  async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; queries: number }> {
    const before = selects
    const value = await fn()
    return { value, queries: selects - before }
  }
  const news = async (e = em()) =>
    (await e.find(Article, { category: 'news' }, { cache: true, orderBy: { id: 'asc' } })).map((a) => a.title)

  test('an entry misses when a member changes or enters, and not for a row of another category', async () => {
    await written(() =>
      em().insert(Article, { id: 3, title: 'Third', published: true, category: 'news', author: 2 }),
    )
    expect(await counted(() => news())).toEqual({ value: ['Draft', 'Third'], queries: 1 })
    expect(await counted(() => news())).toEqual({ value: ['Draft', 'Third'], queries: 0 })
    await written(() => em().nativeUpdate(Article, 2, { title: 'Live, edited' }))
    expect(await counted(() => news())).toEqual({ value: ['Draft', 'Third'], queries: 0 })
    await written(async () => {
      const e = em()
      ;(await e.findOneOrFail(Article, 1)).title = 'Draft, edited'
      await e.flush()
    })
    selects = 0
    expect(await counted(() => news())).toEqual({ value: ['Draft, edited', 'Third'], queries: 1 })
    await written(async () => {
      const e = em()
      e.create(Article, { id: 4, title: 'Fourth', published: false, category: 'news', author: 1 })
      await e.flush()
    })
    expect(await counted(() => news())).toEqual({ value: ['Draft, edited', 'Third', 'Fourth'], queries: 1 })
    expect(await counted(() => news())).toEqual({ value: ['Draft, edited', 'Third', 'Fourth'], queries: 0 })
  })

  test('a hit is real entities, rehydrated by MikroORM, in one store round trip; a miss costs two', async () => {
    store.calls.length = 0
    await news()
    expect(store.calls).toEqual(['read', 'write'])
    store.calls.length = 0
    const e = em()
    const hit = await e.find(Article, { category: 'news' }, { cache: true, orderBy: { id: 'asc' } })
    expect(store.calls).toEqual(['read'])
    expect(hit[0]).toBeInstanceOf(Article)
    expect(hit[0]!.title).toBe('Draft')
    // Managed and clean: flushing writes nothing.
    await e.flush()
    expect(store.calls.filter((c) => c === 'bump')).toEqual([])
  })

  test('a write to a table the query did not read keeps the entry', async () => {
    await news()
    await written(() => em().nativeUpdate(User, 1, { name: 'Ada L.' }))
    expect((await counted(() => news())).queries).toBe(0)
  })

  test('populated relations and relation conditions are dependencies', async () => {
    const withAuthors = async () =>
      (await em().find(Article, {}, { cache: true, populate: ['author'], orderBy: { id: 'asc' } })).map(
        (a) => a.author.name,
      )
    const byAuthor = async () =>
      (await em().find(Article, { author: { name: 'Ada' } }, { cache: true })).map((a) => a.id)
    expect(await withAuthors()).toEqual(['Ada', 'Bob'])
    expect(await byAuthor()).toEqual([1])
    expect((await counted(withAuthors)).queries + (await counted(byAuthor)).queries).toBe(0)
    await written(() => em().nativeUpdate(User, 1, { name: 'Eve' }))
    expect((await counted(withAuthors)).value).toEqual(['Eve', 'Bob'])
    expect((await counted(withAuthors)).queries).toBe(0)
    expect(await counted(byAuthor)).toEqual({ value: [], queries: 1 })
  })

  test('a to-many relation misses when a child is added', async () => {
    const comments = async () =>
      (await em().find(Article, {}, { cache: true, populate: ['comments'], orderBy: { id: 'asc' } })).map(
        (a) => a.comments.getItems().map((c) => c.body),
      )
    expect(await comments()).toEqual([['first'], []])
    expect((await counted(comments)).queries).toBe(0)
    await written(() => em().insert(Comment, { id: 2, body: 'second', article: 2 }))
    expect(await counted(comments)).toEqual({ value: [['first'], ['second']], queries: expect.any(Number) })
  })

  test('dates survive the round trip through the store', async () => {
    const load = async () => (await em().find(Comment, {}, { cache: true }))[0]!.createdAt
    expect(await load()).toEqual(new Date('2026-01-02T03:04:05.678Z'))
    const cached = await counted(load)
    expect(cached.queries).toBe(0)
    expect(cached.value).toBeInstanceOf(Date)
    expect(cached.value).toEqual(new Date('2026-01-02T03:04:05.678Z'))
  })

  test('count and findOne entries', async () => {
    const count = () => em().count(Article, { published: true }, { cache: true })
    const one = async () => (await em().findOne(Article, { title: 'Live' }, { cache: true }))?.id
    const missing = async () => (await em().findOne(Article, 3, { cache: true }))?.id
    expect([await count(), await one(), await missing()]).toEqual([1, 2, undefined])
    expect(await counted(count)).toEqual({ value: 1, queries: 0 })
    expect(await counted(missing)).toEqual({ value: undefined, queries: 0 })
    await written(() =>
      em().insert(Article, { id: 3, title: 'Also', published: true, category: 'tech', author: 1 }),
    )
    expect(await counted(count)).toEqual({ value: 2, queries: 1 })
    expect(await counted(one)).toEqual({ value: 2, queries: 0 })
    expect(await counted(missing)).toEqual({ value: 3, queries: 1 })
  })

  test('QueryBuilder results depend on every table their SQL names', async () => {
    const names = async () =>
      (
        (await em()
          .createQueryBuilder(Article, 'a')
          .select(['a.id'])
          .join('a.author', 'u')
          .where({ 'u.name': 'Bob' })
          .cache(true)
          .execute()) as { id: number }[]
      ).map((r) => r.id)
    expect(await names()).toEqual([2])
    expect(await counted(names)).toEqual({ value: [2], queries: 0 })
    await written(() => em().nativeUpdate(User, 2, { name: 'Rob' }))
    expect(await counted(names)).toEqual({ value: [], queries: 1 })
  })

  test('a named key depends on what its query read, and clearCache drops it', async () => {
    const named = async () =>
      (await em().find(Article, { category: 'tech' }, { cache: ['tech', 60_000] })).length
    expect(await named()).toBe(1)
    await written(() => em().nativeUpdate(Article, 1, { title: 'x' }))
    expect((await counted(named)).queries).toBe(0)
    await em().clearCache('tech')
    expect((await counted(named)).queries).toBe(1)
  })

  test('nothing is stored from inside a transaction, and its own writes bypass the cache', async () => {
    await em().transactional(async (t) => {
      await news(t as unknown as SqlEntityManager)
    })
    expect((await counted(() => news())).queries).toBe(1)
    await em().transactional(async (t) => {
      expect((await counted(() => news(t as unknown as SqlEntityManager))).queries).toBe(0)
      await t.nativeUpdate(Article, 1, { title: 'in tx' })
      expect(await counted(() => news(t as unknown as SqlEntityManager))).toEqual({
        value: ['in tx'],
        queries: 1,
      })
    })
    await fk.idle()
    expect(await counted(() => news())).toEqual({ value: ['in tx'], queries: 1 })
  })

  test('explicit em.begin(): values read inside are not stored', async () => {
    const e = em()
    await e.begin()
    await news(e)
    await e.commit()
    expect((await counted(() => news())).queries).toBe(1)
  })

  test('inside fk.wrap the wrap tracks the query; the result cache stays out of it', async () => {
    let loads = 0
    const wrapped = () =>
      fk.wrap('news:wrapped', async () => {
        loads++
        return news()
      })
    expect(await wrapped()).toEqual(['Draft'])
    expect(await wrapped()).toEqual(['Draft'])
    expect(loads).toBe(1)
    await written(() => em().nativeUpdate(Article, 1, { title: 'Draft 2' }))
    expect(await wrapped()).toEqual(['Draft 2'])
    expect(loads).toBe(2)
  })

  test('clear() invalidates every entry', async () => {
    await news()
    await ctx.orm.config.getResultCacheAdapter().clear()
    await fk.idle()
    expect((await counted(() => news())).queries).toBe(1)
  })
})

describe('the result cache without freshkeyMikroORM', () => {
  test('fails loudly instead of caching what no write would invalidate', async () => {
    const fk = createFreshkey({ store: memoryStore(), namespace: 'unbound' })
    const ctx = await openOrm('sqlite', { entities, resultCache: { adapter: freshkeyCacheAdapter(fk) } })
    try {
      await expect(ctx.orm.em.fork().find(Article, {}, { cache: true })).rejects.toThrow(AdapterSetupError)
    } finally {
      await ctx.close()
    }
  })
})
