import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, Comment, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

// Issue 11: a cached read depends on exactly what its queries read, with no declared dependencies.
describe.each(backends)('automatic dependencies of fk.wrap ($name)', (backend) => {
  const h = useHarness(backend)
  const em = () => h.ctx.orm.em.fork()
  let loads = 0
  // A write's fence is lifted just after it returns; a read before that is served, not stored.
  const settled = () => h.fk.idle()
  const cached = <T>(key: string, load: () => Promise<T>) =>
    h.fk.wrap(key, async () => {
      loads++
      return load()
    })
  const news = () =>
    cached('articles:news', async () =>
      (await em().find(Article, { category: 'news' }, { orderBy: { id: 'asc' } })).map((a) => ({
        id: a.id,
        title: a.title,
      })),
    )

  test('a list misses when a member changes, a member enters, and not for another category', async () => {
    loads = 0
    await em().insert(Article, { id: 3, title: 'Third', published: true, category: 'news', author: 2 })
    await settled()
    expect(await news()).toEqual([
      { id: 1, title: 'Draft' },
      { id: 3, title: 'Third' },
    ])
    expect(await news()).toHaveLength(2)
    expect(loads).toBe(1)
    // A row of another category changes: still a hit.
    const e = em()
    const live = await e.findOneOrFail(Article, 2)
    live.title = 'Live, edited'
    await e.flush()
    await settled()
    await news()
    expect(loads).toBe(1)
    // A member's title: a miss with the new title.
    const e2 = em()
    ;(await e2.findOneOrFail(Article, 1)).title = 'Draft, edited'
    await e2.flush()
    await settled()
    expect((await news())[0]).toEqual({ id: 1, title: 'Draft, edited' })
    expect(loads).toBe(2)
    // A new member: a miss.
    const e3 = em()
    e3.create(Article, { id: 4, title: 'Fourth', published: false, category: 'news', author: 1 })
    await e3.flush()
    await settled()
    expect((await news()).map((a) => a.id)).toEqual([1, 3, 4])
    expect(loads).toBe(3)
    // A row moving into the category: a miss; another moving between two other categories: a hit.
    await em().nativeUpdate(Article, 2, { category: 'news' })
    await settled()
    expect((await news()).map((a) => a.id)).toEqual([1, 2, 3, 4])
    expect(loads).toBe(4)
    await em().insert(Article, { id: 5, title: 'Fifth', published: true, category: 'sports', author: 1 })
    await settled()
    await em().nativeUpdate(Article, 5, { category: 'tech' })
    await settled()
    await news()
    expect(loads).toBe(4)
    // A member leaving: a miss.
    await em().nativeUpdate(Article, 3, { category: 'sports' })
    await settled()
    expect((await news()).map((a) => a.id)).toEqual([1, 2, 4])
    expect(loads).toBe(5)
    expect(h.errors).toEqual([])
  })

  test.each(['joined', 'select-in'] as const)(
    'a populated relation is a dependency (%s)',
    async (strategy) => {
      {
        loads = 0
        const key = `articles:with-authors:${strategy}`
        const load = () =>
          cached(key, async () =>
            (
              await em().find(
                Article,
                {},
                { populate: ['author', 'comments'], strategy, orderBy: { id: 'asc' } },
              )
            ).map((a) => ({
              id: a.id,
              author: a.author.name,
              comments: a.comments.getItems().map((c) => c.body),
            })),
          )
        expect(await load()).toEqual([
          { id: 1, author: 'Ada', comments: ['first'] },
          { id: 2, author: 'Bob', comments: [] },
        ])
        await load()
        expect(loads, strategy).toBe(1)
        await em().nativeUpdate(User, 1, { name: `Ada ${strategy}` })
        await settled()
        expect((await load())[0]!.author).toBe(`Ada ${strategy}`)
        expect(loads, strategy).toBe(2)
        // A new comment of article 2 (which had none): the to-many filter on its foreign key.
        await em().insert(Comment, { id: 10, body: strategy, article: 2 })
        await settled()
        expect((await load())[1]!.comments).toEqual([strategy])
        expect(loads, strategy).toBe(3)
        // A user no listed article references: still a hit.
        await em().insert(User, { id: 20, name: 'unrelated' })
        await settled()
        await load()
        expect(loads, strategy).toBe(3)
      }
    },
  )

  test('findOne by key, a count, and a relation condition', async () => {
    loads = 0
    const one = () => cached('article:2', async () => (await em().findOne(Article, 2))?.title)
    const count = () => cached('articles:published', () => em().count(Article, { published: true }))
    const byAuthor = () =>
      cached('articles:by-ada', async () =>
        (await em().find(Article, { author: { name: 'Ada' } })).map((a) => a.id),
      )
    expect([await one(), await count(), await byAuthor()]).toEqual(['Live', 1, [1]])
    await Promise.all([one(), count(), byAuthor()])
    expect(loads).toBe(3)
    await em().nativeUpdate(Article, 1, { title: 'unpublished title' })
    await settled()
    await Promise.all([one(), count()])
    expect(loads).toBe(3)
    await em().nativeUpdate(Article, 1, { published: true })
    await settled()
    expect(await count()).toBe(2)
    expect(loads).toBe(4)
    // A relation condition depends on both tables as a whole.
    await em().nativeUpdate(User, 2, { name: 'Bob B.' })
    await settled()
    expect(await byAuthor()).toEqual([1])
    expect(loads).toBe(5)
  })

  test('an entity served from the identity map is still a dependency', async () => {
    loads = 0
    const e = em()
    await e.findOneOrFail(Article, 2, { populate: ['author'] })
    const load = () =>
      cached('article:2:author', async () => {
        const a = await e.findOneOrFail(Article, 2, { populate: ['author'] })
        return `${a.title} by ${a.author.name}`
      })
    expect(await load()).toBe('Live by Bob')
    await em().nativeUpdate(User, 2, { name: 'Robert' })
    await settled()
    e.clear()
    expect(await load()).toBe('Live by Robert')
    expect(loads).toBe(2)
  })
})
