import { createFreshkey, createJsonSerializer, dep, memoryStore } from '@freshkey/core'
import { Decimal } from '@prisma/client/runtime/client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshkeyPrisma, prismaDecimal } from '../src/index.ts'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

describe.each(matrix())('cached reads on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(() => f.reset())
  afterAll(() => f?.close())

  /** Runs `read` and reports whether it was a hit, a miss, both or neither. */
  async function measured<T>(read: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
    // A commit's fence is lifted in the background; until then a load is served, not stored.
    await f.fk.idle()
    const before = f.fk.stats()
    const value = await read()
    const after = f.fk.stats()
    const hits = after.hits - before.hits
    const misses = after.misses - before.misses
    expect(hits + misses).toBe(1)
    return { value, hit: hits === 1 }
  }

  it('findMany: a hit until the model changes, then fresh data', async () => {
    const read = () =>
      f.prisma.article.cached({ ttl: 60 }).findMany({ where: { published: true }, orderBy: { id: 'asc' } })
    expect(await measured(read)).toMatchObject({ hit: false })
    const second = await measured(read)
    expect(second.hit).toBe(true)
    expect(second.value.map((a) => a.title)).toEqual(['one', 'two'])
    await f.prisma.article.update({ where: { id: 3 }, data: { published: true } })
    const third = await measured(read)
    expect(third.hit).toBe(false)
    expect(third.value.map((a) => a.title)).toEqual(['one', 'two', 'three'])
  })

  it('regression: rows with a function field are served uncached, never a failed read', async () => {
    const withMethod = f.prisma.$extends({
      result: { article: { shout: { needs: { title: true }, compute: (a) => () => a.title.toUpperCase() } } },
    })
    const read = () => withMethod.article.cached().findMany({ where: { id: 1 } })
    const first = await read()
    expect(first[0]?.shout()).toBe('ONE')
    const second = await measured(read)
    expect(second.hit).toBe(false) // nothing was stored
    expect(f.fk.stats().adapterErrors).toBeGreaterThan(0)
  })

  it('different arguments are different entries', async () => {
    const tech = await f.prisma.article.cached().findMany({ where: { category: 'tech' } })
    const news = await f.prisma.article.cached().findMany({ where: { category: 'news' } })
    expect(tech).toHaveLength(2)
    expect(news).toHaveLength(1)
  })

  it('included relations are dependencies: an author rename invalidates', async () => {
    const read = () =>
      f.prisma.article.cached().findUnique({ where: { id: 1 }, include: { author: true, tags: true } })
    await read()
    expect((await measured(read)).hit).toBe(true)
    await f.prisma.user.update({ where: { id: 1 }, data: { name: 'Ada L.' } })
    const after = await measured(read)
    expect(after.hit).toBe(false)
    expect(after.value?.author.name).toBe('Ada L.')
    await f.prisma.tag.create({ data: { name: 'new', articles: { connect: [{ id: 1 }] } } })
    const tagged = await measured(read)
    expect(tagged.hit).toBe(false)
    expect(tagged.value?.tags.map((t) => t.name).sort()).toEqual(['db', 'new'])
  })

  it('relation filters, _count and relation orderBy are dependencies', async () => {
    const read = () =>
      f.prisma.user.cached().findMany({
        where: { articles: { some: { comments: { some: {} } } } },
        select: { id: true, _count: { select: { notes: true } } },
        orderBy: { profile: { bio: 'asc' } },
      })
    expect((await measured(read)).value).toEqual([{ id: 1, _count: { notes: 1 } }])
    expect((await measured(read)).hit).toBe(true)
    // A note of nobody in the result changes no count; one of user 1 does.
    await f.prisma.note.create({ data: { text: 'x' } })
    expect((await measured(read)).hit).toBe(true)
    await f.prisma.note.create({ data: { text: 'y', authorId: 1 } })
    expect((await measured(read)).value).toEqual([{ id: 1, _count: { notes: 2 } }])
    await f.prisma.profile.update({ where: { id: 1 }, data: { bio: 'x' } })
    expect((await measured(read)).hit).toBe(false)
    await f.prisma.comment.deleteMany({})
    expect(await measured(read)).toEqual({ value: [], hit: false })
  })

  it('count, aggregate and groupBy', async () => {
    const count = () => f.prisma.article.cached().count({ where: { published: true } })
    expect((await measured(count)).value).toBe(2)
    expect((await measured(count)).hit).toBe(true)
    const agg = () => f.prisma.article.cached().aggregate({ _sum: { views: true }, _max: { id: true } })
    expect((await measured(agg)).value).toEqual({ _sum: { views: 0 }, _max: { id: 3 } })
    const groups = () =>
      f.prisma.article
        .cached()
        .groupBy({ by: ['category'], _count: { _all: true }, orderBy: { category: 'asc' } })
    expect((await measured(groups)).value).toEqual([
      { category: 'news', _count: { _all: 1 } },
      { category: 'tech', _count: { _all: 2 } },
    ])
    // A count watches its filter: views are not in it. Aggregates and groups watch every field.
    await f.prisma.article.update({ where: { id: 1 }, data: { views: 7 } })
    expect((await measured(count)).hit).toBe(true)
    expect((await measured(agg)).value).toEqual({ _sum: { views: 7 }, _max: { id: 3 } })
    expect((await measured(groups)).hit).toBe(false)
    await f.prisma.article.update({ where: { id: 3 }, data: { published: true } })
    expect(await measured(count)).toEqual({ value: 3, hit: false })
  })

  it('a hit returns the same types as the database: BigInt, Decimal, Bytes, Date, Json', async () => {
    const createdAt = new Date('2024-05-06T07:08:09.123Z')
    await f.prisma.asset.create({
      data: {
        id: 'a',
        size: 2n ** 40n,
        price: new Decimal('12.345'),
        data: new Uint8Array([1, 2, 255]),
        createdAt,
        meta: { $fkp: 'x', n: [1, null] },
      },
    })
    const read = () => f.prisma.asset.cached().findUnique({ where: { id: 'a' } })
    const miss = await measured(read)
    const hit = await measured(read)
    expect(hit.hit).toBe(true)
    for (const v of [miss.value!, hit.value!]) {
      expect(v.size).toBe(2n ** 40n)
      expect(Decimal.isDecimal(v.price)).toBe(true)
      expect(v.price.toString()).toBe('12.345')
      expect(v.data).toBeInstanceOf(Uint8Array)
      expect([...v.data!]).toEqual([1, 2, 255])
      expect(v.createdAt).toEqual(createdAt)
      expect(v.meta).toEqual({ $fkp: 'x', n: [1, null] })
    }
  })

  it('fk.wrap hits keep Date, BigInt and Bytes; Decimal with the prismaDecimal serializer type', async () => {
    const serializer = createJsonSerializer({ types: [prismaDecimal] })
    const fk = createFreshkey({ store: memoryStore(), namespace: 'decimal', serializer })
    const prisma = f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata }))
    await prisma.asset.create({
      data: {
        id: 'w',
        size: 5n,
        price: new Decimal('1.25'),
        data: new Uint8Array([7]),
        createdAt: new Date(0),
      },
    })
    const read = () => fk.wrap('asset:w', () => prisma.asset.findUniqueOrThrow({ where: { id: 'w' } }))
    await read()
    await fk.idle()
    const hit = await read()
    expect(fk.stats().hits).toBe(1)
    expect(Decimal.isDecimal(hit.price) && hit.price.toString()).toBe('1.25')
    expect([hit.size, hit.createdAt, [...hit.data!]]).toEqual([5n, new Date(0), [7]])
    await fk.close()
  })

  it('a hit costs one store command, a miss two once the entry is known (lookup + fill)', async () => {
    const calls: string[] = []
    const store = new Proxy(memoryStore(), {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function' || prop === 'generation') return value
        return (...args: unknown[]) => {
          calls.push(String(prop))
          return value.apply(target, args)
        }
      },
    })
    const fk = createFreshkey({ store, namespace: 'commands' })
    const prisma = f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata }))
    const read = () =>
      prisma.article.cached().findMany({ where: { category: 'tech' }, include: { author: true } })
    await read()
    await fk.idle()
    const count = async (run: () => Promise<unknown>) => {
      calls.length = 0
      await run()
      return calls.length
    }
    expect(await count(read)).toBe(1)
    await fk.invalidate(dep.row('blog_articles', 1))
    await fk.idle()
    expect(await count(read)).toBe(2)
    await fk.close()
  })

  it('hits are marked for keyFor like database results', async () => {
    const read = () => f.prisma.user.cached().findUnique({ where: { id: 1 }, include: { articles: true } })
    await read()
    const user = await read()
    expect(await f.fk.keyFor(user!)).toBe(await f.fk.keyFor(dep.row('app_users', 1)))
    expect(await f.fk.keyFor(user!.articles[0]!)).toBe(
      await f.fk.keyFor(dep.row('blog_articles', user!.articles[0]!.id)),
    )
  })

  it('extra deps: a tag invalidates the entry', async () => {
    const read = () => f.prisma.article.cached({ deps: [dep.tag('home')] }).findMany()
    await read()
    expect((await measured(read)).hit).toBe(true)
    await f.fk.invalidate(dep.tag('home'))
    expect((await measured(read)).hit).toBe(false)
  })

  it('a value loaded inside a transaction is never stored', async () => {
    const read = (c: { article: typeof f.prisma.article }) =>
      c.article.cached().findMany({ where: { category: 'news' } })
    await f.prisma.$transaction(async (tx) => {
      await read(tx)
    })
    expect((await measured(() => read(f.prisma))).hit).toBe(false)
    expect((await measured(() => read(f.prisma))).hit).toBe(true)
  })

  it('the loads around a read inside a transaction are not stored either', async () => {
    let loads = 0
    const read = () =>
      f.fk.wrap('itx-outer', () => {
        loads++
        return f.fk.wrap('itx-inner', () =>
          f.prisma.$transaction((tx) => tx.article.findMany({ where: { category: 'news' } })),
        )
      })
    await read()
    await f.fk.idle()
    await read()
    expect(loads).toBe(2)
  })

  it('raw writes invalidate cached reads', async () => {
    const read = () => f.prisma.article.cached().findMany({ where: { category: 'tech' } })
    await read()
    await f.prisma.$executeRawUnsafe("UPDATE blog_articles SET title = 'raw'")
    const after = await measured(read)
    expect(after.hit).toBe(false)
    expect(after.value.map((a) => a.title)).toEqual(['raw', 'raw'])
  })
})
