import { dep, type Freshkey } from '@freshkey/core'
import type { CacheAdapter } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type FreshkeyMikroORM, freshkeyCacheAdapter, freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, Comment, entities, User } from './support/entities.ts'
import { queryText } from './support/observe.ts'
import { seed } from './support/seed.ts'

describe.each(backends)('MikroORM result cache backed by freshkey ($name)', (backend) => {
  let ctx: OpenOrm
  let fk: Freshkey
  let handle: FreshkeyMikroORM
  let selects = 0
  const em = () => ctx.orm.em.fork() as unknown as SqlEntityManager

  beforeAll(async () => {
    fk = makeFreshkey(backend.store)
    ctx = await openOrm(backend.db, {
      entities,
      resultCache: {
        adapter: freshkeyCacheAdapter(fk, {
          namedKeyDeps: (name) => (name === 'users-only' ? [dep.table('app_users')] : [dep.all()]),
        }),
      },
      debug: ['query'],
      logger: (m: string) => {
        if (queryText(m).startsWith('select')) selects++
      },
    })
    handle = freshkeyMikroORM(ctx.orm, fk)
  })
  afterAll(async () => {
    handle.dispose()
    await ctx.close()
    await fk.store.close()
  })
  beforeEach(async () => {
    await ctx.orm.schema.clear()
    await seed(ctx.orm.em)
    // schema.clear() is invisible to the adapter: start every test from an empty cache.
    await fk.invalidateAll()
    selects = 0
  })

  async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; queries: number }> {
    const before = selects
    const value = await fn()
    return { value, queries: selects - before }
  }
  const titles = async (e = em()) =>
    (await e.find(Article, {}, { cache: true, orderBy: { id: 'asc' } })).map((a) => a.title)

  test('cache: true is served from freshkey until a write to the table commits', async () => {
    expect(await counted(() => titles())).toEqual({ value: ['Draft', 'Live'], queries: 1 })
    expect(await counted(() => titles())).toEqual({ value: ['Draft', 'Live'], queries: 0 })
    const e = em()
    const a = await e.findOneOrFail(Article, 2)
    a.title = 'Live!'
    await e.flush()
    expect(await counted(() => titles())).toEqual({ value: ['Draft', 'Live!'], queries: 1 })
    expect(await counted(() => titles())).toEqual({ value: ['Draft', 'Live!'], queries: 0 })
  })

  test('a write to a table the query did not read keeps the entry', async () => {
    await titles()
    await em().nativeUpdate(User, 1, { name: 'Ada L.' })
    expect((await counted(() => titles())).queries).toBe(0)
  })

  test('populated relations and conditions on relations add their tables', async () => {
    const withAuthors = async () =>
      (await em().find(Article, {}, { cache: true, populate: ['author'], orderBy: { id: 'asc' } })).map(
        (a) => a.author.name,
      )
    const byAuthor = async () =>
      (await em().find(Article, { author: { name: 'Ada' } }, { cache: true })).map((a) => a.id)
    expect(await withAuthors()).toEqual(['Ada', 'Bob'])
    expect(await byAuthor()).toEqual([1])
    expect((await counted(withAuthors)).queries + (await counted(byAuthor)).queries).toBe(0)
    await em().nativeUpdate(User, 1, { name: 'Eve' })
    expect(await counted(withAuthors)).toEqual({ value: ['Eve', 'Bob'], queries: expect.any(Number) })
    expect((await counted(withAuthors)).queries).toBe(0)
    expect(await counted(byAuthor)).toEqual({ value: [], queries: 1 })
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
    expect(await count()).toBe(1)
    expect(await one()).toBe(2)
    expect(await counted(count)).toEqual({ value: 1, queries: 0 })
    await em().insert(Article, { id: 3, title: 'Also', published: true, category: 'tech', author: 1 })
    expect(await counted(count)).toEqual({ value: 2, queries: 1 })
    expect(await counted(one)).toEqual({ value: 2, queries: 1 })
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
    await em().nativeUpdate(User, 2, { name: 'Rob' })
    expect(await counted(names)).toEqual({ value: [], queries: 1 })
  })

  test('a named key depends on what namedKeyDeps says (every table by default)', async () => {
    const named = async (key: string) => (await em().find(Article, {}, { cache: [key, 60_000] })).length
    await named('home')
    await named('users-only')
    await em().nativeUpdate(Article, 1, { title: 'x' })
    expect((await counted(() => named('home'))).queries).toBe(1)
    expect((await counted(() => named('users-only'))).queries).toBe(0)
    await em().clearCache('users-only')
    expect((await counted(() => named('users-only'))).queries).toBe(1)
  })

  test('nothing is stored from inside a transaction, and its own writes bypass the cache', async () => {
    await em().transactional(async (t) => {
      await titles(t as unknown as SqlEntityManager)
    })
    expect((await counted(() => titles())).queries).toBe(1)
    await em().transactional(async (t) => {
      expect((await counted(() => titles(t as unknown as SqlEntityManager))).queries).toBe(0)
      await t.nativeUpdate(Article, 1, { title: 'in tx' })
      expect(await counted(() => titles(t as unknown as SqlEntityManager))).toEqual({
        value: ['in tx', 'Live'],
        queries: 1,
      })
    })
    expect(await counted(() => titles())).toEqual({ value: ['in tx', 'Live'], queries: 1 })
  })

  test('explicit em.begin(): values read inside are not stored', async () => {
    const e = em()
    await e.begin()
    await titles(e)
    await e.commit()
    expect((await counted(() => titles())).queries).toBe(1)
  })

  describe('compare-and-set against the tokens read on the miss', () => {
    const key = JSON.stringify([[null, 'blog_articles', null], 'em.find', { cache: true }, {}])
    const adapter = () => ctx.orm.config.getResultCacheAdapter() as CacheAdapter

    test('a write committed between the miss and the store keeps the old result out', async () => {
      expect(await adapter().get(key)).toBeUndefined()
      await em().nativeUpdate(Article, 1, { title: 'newer' })
      await adapter().set(key, [{ id: 1, title: 'older' }], '')
      expect(await adapter().get(key)).toBeUndefined()
      await adapter().set(key, [{ id: 1, title: 'newer' }], '')
      expect(await adapter().get(key)).toEqual([{ id: 1, title: 'newer' }])
    })

    test('overlapping misses store under the oldest tokens', async () => {
      await adapter().get(key)
      await em().nativeUpdate(Article, 1, { title: 'between' })
      await adapter().get(key)
      // The second miss's result arrives first; it may not be stored under the newer tokens either.
      await adapter().set(key, [{ id: 1, title: 'second' }], '')
      await adapter().set(key, [{ id: 1, title: 'first (older)' }], '')
      expect(await adapter().get(key)).toBeUndefined()
    })

    test('clear() invalidates every entry', async () => {
      await titles()
      await adapter().clear()
      expect((await counted(() => titles())).queries).toBe(1)
    })
  })
})
