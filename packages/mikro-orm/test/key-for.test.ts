import { dep } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, ArticleSchema, Membership, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

describe.each(backends)('fk.keyFor with MikroORM entities ($name)', (backend) => {
  const h = useHarness(backend)
  const em = () => h.ctx.orm.em.fork()

  test('an entity is its row: the key changes when that row is written, not when another is', async () => {
    const e = em()
    const [one, two] = await Promise.all([e.findOneOrFail(Article, 1), e.findOneOrFail(Article, 2)])
    const k1 = await h.fk.keyFor(one, 'page')
    const k2 = await h.fk.keyFor(two, 'page')
    one.title = 'changed'
    await e.flush()
    expect(await h.fk.keyFor(one, 'page')).not.toBe(k1)
    expect(await h.fk.keyFor(two, 'page')).toBe(k2)
  })

  test('references, composite keys, entity classes and schemas', async () => {
    const e = em()
    expect(h.fk.tokenKeysOf([e.getReference(Article, 2)])).toEqual(
      h.fk.tokenKeysOf([dep.row('blog_articles', 2)]),
    )
    const m = await e.findOneOrFail(Membership, { userId: 1, groupId: 10 })
    expect(h.fk.tokenKeysOf([m])).toEqual(
      h.fk.tokenKeysOf([dep.row('memberships', { groupId: 10, userId: 1 })]),
    )
    expect(h.fk.tokenKeysOf([Article])).toEqual(h.fk.tokenKeysOf([dep.table('blog_articles')]))
    expect(h.fk.tokenKeysOf([ArticleSchema])).toEqual(h.fk.tokenKeysOf([dep.table('blog_articles')]))
    const tableKey = await h.fk.keyFor(Article)
    await e.nativeUpdate(Article, 2, { title: 'x' })
    expect(await h.fk.keyFor(Article)).not.toBe(tableKey)
  })

  test('a loaded relation is not a dependency unless passed', async () => {
    const e = em()
    const a = await e.findOneOrFail(Article, 1, { populate: ['author'] })
    const alone = await h.fk.keyFor(a)
    const withAuthor = await h.fk.keyFor(a, a.author)
    const u = await e.findOneOrFail(User, 1)
    u.name = 'Ada L.'
    await e.flush()
    expect(await h.fk.keyFor(a)).toBe(alone)
    expect(await h.fk.keyFor(a, a.author)).not.toBe(withAuthor)
  })

  test('a new entity without a key is not a row', () => {
    const fresh = em().create(User, { name: 'nobody' } as never, { persist: false })
    expect(() => h.fk.tokenKeysOf([fresh])).toThrow()
  })
})
