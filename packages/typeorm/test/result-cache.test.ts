import type { Freshkey } from '@freshkey/core'
import type { DataSource, QueryEvent } from 'typeorm'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { freshkeyQueryResultCache, freshkeyTypeORM } from '../src/index.ts'
import { Article, entities, Membership, User } from './support/entities.ts'
import { combos, openDataSource, openFreshkey } from './support/services.ts'

describe.each(combos)('TypeORM query result cache on %s with %s store', (db, store) => {
  let ds: DataSource
  let fk: Freshkey
  let close: () => Promise<void>
  let selects: string[]
  beforeEach(async () => {
    const f = openFreshkey(store)
    fk = f.fk
    const opened = await openDataSource(db, entities, {
      cache: { provider: freshkeyQueryResultCache(fk), duration: 60_000 },
    })
    ds = opened.ds
    const handle = freshkeyTypeORM(ds, fk)
    await ds.getRepository(User).save([
      { id: 1, name: 'ada' },
      { id: 2, name: 'bob' },
    ])
    await ds.getRepository(Article).save([
      { id: 1, title: 'one', published: true, category: 'news', authorId: 1 },
      { id: 2, title: 'two', published: true, category: 'tech', authorId: 2 },
    ])
    await ds.getRepository(Membership).save({ userId: 1, groupId: 1, role: 'r' })
    selects = []
    ds.subscribers.push({
      beforeQuery: (e: QueryEvent) => {
        if (/^\s*SELECT/i.test(e.query) && !e.query.includes('fk_before')) selects.push(e.query)
      },
    })
    close = async () => {
      handle.dispose()
      await opened.close()
      await f.close()
    }
  })
  afterEach(() => close())

  const titles = () =>
    ds
      .getRepository(Article)
      .find({ where: { category: 'news' }, cache: true })
      .then((rows) => rows.map((a) => a.title))

  test('find({ cache: true }) is served from freshkey until a write to its table commits', async () => {
    expect(await titles()).toEqual(['one'])
    expect(await titles()).toEqual(['one'])
    expect(selects.length).toBe(1)
    await ds.getRepository(Article).update(1, { title: 'uno' })
    expect(await titles()).toEqual(['uno'])
    expect(selects.length).toBe(2)
  })

  test('automatic dependencies: a member edit misses with the new title, another category stays a hit', async () => {
    await ds
      .getRepository(Article)
      .save({ id: 3, title: 'three', published: true, category: 'news', authorId: 2 })
    await fk.idle()
    const lists = () => selects.filter((q) => /WHERE.*category/s.test(q)).length
    const before = lists()
    const run = async () => {
      await fk.idle()
      return titles()
    }
    expect(await run()).toEqual(['one', 'three'])
    await ds.getRepository(Article).update(2, { title: 'tech edit' })
    expect(await run()).toEqual(['one', 'three'])
    const moved = await ds.getRepository(Article).findOneByOrFail({ id: 2 })
    moved.category = 'misc'
    await ds.getRepository(Article).save(moved)
    expect(await run()).toEqual(['one', 'three'])
    expect(lists() - before).toBe(1)
    await ds.getRepository(Article).update(3, { title: 'tres' })
    expect(await run()).toEqual(['one', 'tres'])
    await ds
      .getRepository(Article)
      .insert({ id: 4, title: 'four', published: false, category: 'news', authorId: 1 })
    expect(await run()).toEqual(['one', 'tres', 'four'])
    expect(lists() - before).toBe(3)
  })

  test('hits are real entities; a hit costs one store round trip, a miss two', async () => {
    await fk.idle()
    const calls: string[] = []
    const s = fk.store as unknown as Record<string, unknown>
    for (const name of ['read', 'write', 'tokens', 'bump', 'lift', 'register', 'delete', 'schemes']) {
      const orig = s[name] as (...a: unknown[]) => unknown
      if (typeof orig !== 'function') continue
      s[name] = (...a: unknown[]) => {
        calls.push(name)
        return orig.apply(fk.store, a)
      }
    }
    const find = () => ds.getRepository(Article).find({ where: { category: 'news' }, cache: true })
    await find() // the first fill also registers the cache version: not counted
    await ds.getRepository(Article).update(1, { title: 'miss' })
    await fk.idle()
    calls.length = 0
    const missed = await find()
    expect(calls).toEqual(['read', 'write'])
    calls.length = 0
    const hit = await find()
    expect(calls).toEqual(['read'])
    expect(hit[0]).toBeInstanceOf(Article)
    expect(hit).toEqual(missed)
  })

  test('a write to an unrelated table keeps the entry', async () => {
    await titles()
    await ds.getRepository(Membership).update({ userId: 1, groupId: 1 }, { role: 'x' })
    await titles()
    expect(selects.length).toBe(1)
  })

  test('a JOIN depends on every table it reads', async () => {
    const withAuthor = () =>
      ds
        .getRepository(Article)
        .find({ where: { id: 1 }, relations: { author: true }, cache: true })
        .then((rows) => rows[0]!.author!.name)
    expect(await withAuthor()).toBe('ada')
    expect(await withAuthor()).toBe('ada')
    await ds.getRepository(User).update(1, { name: 'ada l.' })
    expect(await withAuthor()).toBe('ada l.')
  })

  test('QueryBuilder .cache(id, ms), remove([id]) and clear()', async () => {
    const count = () =>
      ds
        .getRepository(Article)
        .createQueryBuilder('a')
        .where('a.published = :p', { p: true })
        .cache('published', 60_000)
        .getCount()
    expect(await count()).toBe(2)
    expect(await count()).toBe(2)
    expect(selects.length).toBe(1)
    await ds.queryResultCache!.remove(['published'])
    await count()
    expect(selects.length).toBe(2)
    await ds.queryResultCache!.clear()
    await count()
    expect(selects.length).toBe(3)
    await ds
      .getRepository(Article)
      .insert({ id: 3, title: 'three', published: true, category: 'x', authorId: 1 })
    expect(await count()).toBe(3)
  })

  test('inside a transaction the cache is neither read nor filled', async () => {
    await titles()
    await ds.transaction(async (em) => {
      await em.update(Article, 1, { title: 'in tx' })
      const rows = await em.find(Article, { where: { category: 'news' }, cache: true })
      expect(rows.map((a) => a.title)).toEqual(['in tx'])
    })
    expect(await titles()).toEqual(['in tx'])
    expect(await titles()).toEqual(['in tx'])
  })

  test('a write that commits while the query runs keeps its result out of the cache', async () => {
    let raced = false
    ds.subscribers.push({
      afterQuery: async (e: QueryEvent) => {
        if (raced || !/FROM "blog_articles"/.test(e.query) || !/^\s*SELECT/i.test(e.query)) return
        raced = true
        await ds.getRepository(Article).update(1, { title: 'during' })
      },
    })
    expect(await titles()).toEqual(['one']) // read before the write committed
    expect(raced).toBe(true)
    expect(await titles()).toEqual(['during'])
  })
})
