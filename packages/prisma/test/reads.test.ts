import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

/**
 * Issue 11: a cached read depends on exactly what it read — the rows it returned and the filter it
 * used — with no declared dependency. Through `fk.wrap` and through `prisma.<model>.cached()`.
 */
describe.each(matrix())('automatic dependencies on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo, { scopes: {} })
  })
  beforeEach(async () => {
    await f.reset()
    await f.fk.idle()
  })
  afterAll(() => f?.close())

  /** Runs `read` once and says whether it was served from the cache. */
  async function served<T>(read: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
    await f.fk.idle()
    const before = f.fk.stats()
    const value = await read()
    const after = f.fk.stats()
    expect(after.hits - before.hits + (after.misses - before.misses)).toBe(1)
    return { value, hit: after.hits > before.hits }
  }

  const lists = {
    'fk.wrap': () =>
      f.fk.wrap('articles:tech', () =>
        f.prisma.article.findMany({ where: { category: 'tech' }, orderBy: { id: 'asc' } }),
      ),
    'native cached()': () =>
      f.prisma.article.cached().findMany({ where: { category: 'tech' }, orderBy: { id: 'asc' } }),
  }

  describe.each(Object.entries(lists))('a list cached through %s', (_name, list) => {
    it('is a hit until a member changes, then a miss with the new title', async () => {
      expect((await served(list)).hit).toBe(false)
      expect((await served(list)).hit).toBe(true)
      await f.prisma.article.update({ where: { id: 2 }, data: { title: 'deux' } })
      const after = await served(list)
      expect(after.hit).toBe(false)
      expect(after.value.map((a) => a.title)).toEqual(['one', 'deux'])
    })

    it('misses when a new member is inserted', async () => {
      await served(list)
      await f.prisma.article.create({ data: { id: 9, title: 'nine', category: 'tech', authorId: 1 } })
      const after = await served(list)
      expect(after.hit).toBe(false)
      expect(after.value.map((a) => a.id)).toEqual([1, 2, 9])
    })

    it('misses when a member leaves the filter or is deleted', async () => {
      await served(list)
      await f.prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
      expect((await served(list)).value.map((a) => a.id)).toEqual([2])
      await served(list)
      await f.prisma.article.delete({ where: { id: 2 } })
      expect(await served(list)).toEqual({ value: [], hit: false })
    })

    it('stays a hit when a row of another category changes or is inserted', async () => {
      await served(list)
      await f.prisma.article.update({ where: { id: 3 }, data: { title: 'trois', views: 4 } })
      await f.prisma.article.create({ data: { id: 9, title: 'nine', category: 'news', authorId: 1 } })
      await f.prisma.user.update({ where: { id: 2 }, data: { name: 'Robert' } })
      expect((await served(list)).hit).toBe(true)
    })

    it('misses when a row enters the filter through a transaction', async () => {
      await served(list)
      await f.prisma.$transaction(async (tx) => {
        await tx.article.update({ where: { id: 3 }, data: { category: 'tech' } })
      })
      expect((await served(list)).value.map((a) => a.id)).toEqual([1, 2, 3])
    })
  })

  it('included relations: a to-one author is a row lookup, to-many comments a filter on their foreign key', async () => {
    const read = () =>
      f.prisma.article.cached().findMany({
        where: { category: 'tech' },
        include: { author: true, comments: { orderBy: { id: 'asc' } } },
        orderBy: { id: 'asc' },
      })
    await served(read)
    await f.prisma.user.update({ where: { id: 2 }, data: { name: 'not an author here' } })
    await f.prisma.comment.create({ data: { body: 'on a news article', articleId: 3 } })
    expect((await served(read)).hit).toBe(true)
    await f.prisma.user.update({ where: { id: 1 }, data: { name: 'Ada L.' } })
    const renamed = await served(read)
    expect(renamed.hit).toBe(false)
    expect(renamed.value[0]?.author.name).toBe('Ada L.')
    await f.prisma.comment.create({ data: { body: 'new', articleId: 2 } })
    const commented = await served(read)
    expect(commented.hit).toBe(false)
    expect(commented.value[1]?.comments.map((c) => c.body)).toEqual(['new'])
  })

  it('a narrow select still tracks rows: the key is asked for and removed again', async () => {
    const read = () =>
      f.prisma.article.cached().findMany({
        where: { category: 'tech' },
        select: { title: true, author: { select: { name: true } } },
        orderBy: { id: 'asc' },
      })
    expect((await served(read)).value).toEqual([
      { title: 'one', author: { name: 'Ada' } },
      { title: 'two', author: { name: 'Ada' } },
    ])
    expect((await served(read)).value).toEqual([
      { title: 'one', author: { name: 'Ada' } },
      { title: 'two', author: { name: 'Ada' } },
    ])
    await f.prisma.article.update({ where: { id: 1 }, data: { views: 3 } })
    expect((await served(read)).hit).toBe(false)
  })

  it('many-to-many includes depend on the join table and the related rows', async () => {
    const read = () => f.prisma.article.cached().findUnique({ where: { id: 1 }, include: { tags: true } })
    await served(read)
    await f.prisma.tag.create({ data: { name: 'loose' } })
    expect((await served(read)).hit).toBe(true)
    await f.prisma.tag.update({ where: { id: 1 }, data: { name: 'database' } })
    expect((await served(read)).value?.tags.map((t) => t.name)).toEqual(['database'])
    await f.prisma.article.update({ where: { id: 1 }, data: { tags: { connect: { name: 'loose' } } } })
    expect((await served(read)).value?.tags.map((t) => t.name).sort()).toEqual(['database', 'loose'])
  })

  it('a lookup by key depends on that row, found or not', async () => {
    const missing = () => f.prisma.article.cached().findUnique({ where: { id: 9 } })
    const one = () => f.prisma.article.cached().findUnique({ where: { id: 1 } })
    expect((await served(missing)).value).toBeNull()
    await served(one)
    await f.prisma.article.update({ where: { id: 2 }, data: { title: 'x' } })
    expect((await served(missing)).hit).toBe(true)
    expect((await served(one)).hit).toBe(true)
    await f.prisma.article.create({ data: { id: 9, title: 'nine', authorId: 1 } })
    expect((await served(missing)).value?.title).toBe('nine')
  })

  it('a count watches its filter fields only', async () => {
    const count = () => f.prisma.article.cached().count({ where: { category: 'tech', published: true } })
    expect((await served(count)).value).toBe(2)
    await f.prisma.article.update({ where: { id: 1 }, data: { title: 'retitled' } })
    await f.prisma.article.create({
      data: { id: 9, title: 'n', category: 'news', published: true, authorId: 1 },
    })
    expect((await served(count)).hit).toBe(true)
    await f.prisma.article.update({ where: { id: 1 }, data: { published: false } })
    expect(await served(count)).toEqual({ value: 1, hit: false })
    await f.prisma.article.update({ where: { id: 9 }, data: { category: 'tech' } })
    expect(await served(count)).toEqual({ value: 2, hit: false })
  })

  it('a filter that is not an equality still narrows by its equalities and watches the rest', async () => {
    const read = () =>
      f.prisma.article
        .cached()
        .findMany({ where: { category: 'tech', views: { gt: 5 } }, orderBy: { id: 'asc' } })
    expect((await served(read)).value).toEqual([])
    // In a transaction the update's returned row is its after image: it names the condition it is in.
    await f.prisma.$transaction((tx) => tx.article.update({ where: { id: 3 }, data: { views: 10 } }))
    expect((await served(read)).hit).toBe(true)
    // An autocommit update is fenced before it runs, with the filter's fields it does not write as
    // this process last saw them (this read; the seed ran behind freshkey's back), checked against
    // the row it returns. A row never seen is bumped after it instead (writes.test.ts).
    await f.fk.wrap('article 3', () => f.prisma.article.findUniqueOrThrow({ where: { id: 3 } }))
    await f.prisma.article.update({ where: { id: 3 }, data: { views: 11 } })
    expect((await served(read)).hit).toBe(true)
    await f.prisma.article.update({ where: { id: 1 }, data: { views: 10 } })
    expect((await served(read)).value.map((a) => a.id)).toEqual([1])
  })

  it('a relation filter depends on the related table as a whole', async () => {
    const read = () =>
      f.prisma.user.cached().findMany({ where: { articles: { some: { category: 'news' } } } })
    expect((await served(read)).value.map((u) => u.id)).toEqual([2])
    await f.prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
    expect((await served(read)).value.map((u) => u.id).sort()).toEqual([1, 2])
  })

  it('a write that commits while the loader runs makes the fill fail', async () => {
    let loads = 0
    const read = () =>
      f.fk.wrap('articles:racy', async () => {
        loads++
        const rows = await f.prisma.article.findMany({ where: { category: 'tech' }, orderBy: { id: 'asc' } })
        if (loads === 1) await f.prisma.article.update({ where: { id: 1 }, data: { title: 'during' } })
        return rows.map((r) => r.title)
      })
    expect(await read()).toEqual(['one', 'two'])
    await f.fk.idle()
    expect(await read()).toEqual(['during', 'two'])
    expect(loads).toBe(2)
  })

  it('raw SQL reads depend on the tables they name, as a whole', async () => {
    const read = () =>
      f.fk.wrap('raw:titles', () =>
        f.prisma.$queryRawUnsafe<{ title: string }[]>('SELECT title FROM blog_articles'),
      )
    await served(read)
    await f.prisma.comment.create({ data: { body: 'x', articleId: 1 } })
    expect((await served(read)).hit).toBe(true)
    await f.prisma.article.update({ where: { id: 3 }, data: { views: 1 } })
    expect((await served(read)).hit).toBe(false)
  })

  it('fk.cached functions get the same automatic dependencies', async () => {
    const title = f.fk.cached(
      async (id: number) => (await f.prisma.article.findUnique({ where: { id } }))?.title,
      {
        name: 'prisma:title',
      },
    )
    expect(await served(() => title(1))).toEqual({ value: 'one', hit: false })
    await f.prisma.article.update({ where: { id: 2 }, data: { title: 'deux' } })
    expect(await served(() => title(1))).toEqual({ value: 'one', hit: true })
    await f.prisma.article.update({ where: { id: 1 }, data: { title: 'uno' } })
    expect(await served(() => title(1))).toEqual({ value: 'uno', hit: false })
  })

  it('the fluent API (findUnique().articles()) depends on the tables it reads, whole', async () => {
    const read = () => f.fk.wrap('fluent', () => f.prisma.user.findUnique({ where: { id: 2 } }).articles())
    expect((await served(read)).value?.map((a) => a.id)).toEqual([3])
    expect((await served(read)).hit).toBe(true)
    await f.prisma.article.update({ where: { id: 1 }, data: { views: 1 } })
    expect((await served(read)).hit).toBe(false)
  })

  it('reads outside any load send the arguments as given', async () => {
    const seen: unknown[] = []
    const spy = f.prisma.$extends({
      query: {
        $allOperations({ args, query }) {
          seen.push(args)
          return query(args)
        },
      },
    })
    await spy.article.findMany({ select: { title: true } })
    expect(seen).toEqual([{ select: { title: true } }])
  })
})
