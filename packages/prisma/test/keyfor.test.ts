import { dep } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MODEL_MARK, prismaModel } from '../src/index.ts'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

describe.each(matrix())('keyFor on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(() => f.reset())
  afterAll(() => f?.close())

  it('a returned record is its row dependency: it moves with that row only', async () => {
    const a1 = await f.prisma.article.findUniqueOrThrow({ where: { id: 1 } })
    const key = await f.fk.keyFor(a1)
    expect(key).toBe(await f.fk.keyFor(dep.row('blog_articles', 1)))
    await f.prisma.article.update({ where: { id: 2 }, data: { title: 'x' } })
    expect(await f.fk.keyFor(a1)).toBe(key)
    await f.prisma.article.update({ where: { id: 1 }, data: { title: 'x' } })
    expect(await f.fk.keyFor(a1)).not.toBe(key)
  })

  it('the mark is not enumerable: not in JSON, keys or spreads', async () => {
    const a1 = await f.prisma.article.findUniqueOrThrow({ where: { id: 1 } })
    expect(Object.keys(a1)).toEqual(['id', 'title', 'published', 'category', 'views', 'authorId'])
    expect(JSON.parse(JSON.stringify(a1))).toEqual({
      id: 1,
      title: 'one',
      published: true,
      category: 'tech',
      views: 0,
      authorId: 1,
    })
    expect(MODEL_MARK in a1).toBe(true)
    expect(MODEL_MARK in { ...a1 }).toBe(false)
    expect(a1).toEqual({ id: 1, title: 'one', published: true, category: 'tech', views: 0, authorId: 1 })
  })

  it('included relations are marked with their own model', async () => {
    const user = await f.prisma.user.findUniqueOrThrow({
      where: { id: 1 },
      include: { articles: { include: { tags: true } }, profile: true },
    })
    expect(await f.fk.keyFor(user)).toBe(await f.fk.keyFor(dep.row('app_users', 1)))
    expect(await f.fk.keyFor(user.articles[0]!)).toBe(
      await f.fk.keyFor(dep.row('blog_articles', user.articles[0]!.id)),
    )
    expect(await f.fk.keyFor(user.articles[0]!.tags[0]!)).toBe(await f.fk.keyFor(dep.row('tags', 1)))
    expect(await f.fk.keyFor(user.profile!)).toBe(await f.fk.keyFor(dep.row('profiles', 1)))
    // A relation loaded with the record is not a dependency of the record's key.
    const key = await f.fk.keyFor(user)
    await f.prisma.article.update({ where: { id: 1 }, data: { title: 'x' } })
    expect(await f.fk.keyFor(user)).toBe(key)
    expect(await f.fk.keyFor(user, ...user.articles)).not.toBe(await f.fk.keyFor(user))
  })

  it('records returned by writes are marked too, with composite keys as objects', async () => {
    const m = await f.prisma.membership.update({
      where: { userId_groupId: { userId: 1, groupId: 10 } },
      data: { role: 'admin' },
    })
    // The update's fence is lifted in the background: compare keys once it is.
    await f.fk.idle()
    expect(await f.fk.keyFor(m)).toBe(await f.fk.keyFor(dep.row('memberships', { userId: 1, groupId: 10 })))
    const created = await f.prisma.article.create({ data: { id: 9, title: 'n', authorId: 1 } })
    await f.fk.idle()
    expect(await f.fk.keyFor(created)).toBe(await f.fk.keyFor(dep.row('blog_articles', 9)))
  })

  it('a model delegate or prismaModel() is the table dependency', async () => {
    const table = await f.fk.keyFor(dep.table('blog_articles'))
    expect(await f.fk.keyFor(f.prisma.article)).toBe(table)
    expect(await f.fk.keyFor(prismaModel('Article'))).toBe(table)
    expect(await f.fk.keyFor(f.prisma.membership)).toBe(await f.fk.keyFor(dep.table('memberships')))
  })

  it('dep.scope and defineScope accept a model delegate', async () => {
    await f.fk.defineScope(f.prisma.user, ['name'])
    const scope = dep.scope(f.prisma.user, { name: 'Ada' })
    const key = await f.fk.keyFor(scope)
    await f.prisma.user.create({ data: { id: 3, name: 'Cy' } })
    await f.fk.idle()
    expect(await f.fk.keyFor(scope)).toBe(key)
    await f.prisma.user.update({ where: { id: 1 }, data: { name: 'Ada L.' } })
    expect(await f.fk.keyFor(scope)).not.toBe(key)
  })

  it('a record whose key fields were not selected falls back to its table', async () => {
    const partial = await f.prisma.article.findUniqueOrThrow({ where: { id: 1 }, select: { title: true } })
    expect(await f.fk.keyFor(partial)).toBe(await f.fk.keyFor(dep.table('blog_articles')))
  })

  it('markRecords: false leaves records unmarked (plain values in a key)', async () => {
    const v = f.variant({ markRecords: false })
    const a1 = await v.prisma.article.findUniqueOrThrow({ where: { id: 1 } })
    expect(MODEL_MARK in a1).toBe(false)
    const key = await v.fk.keyFor(a1)
    await v.prisma.article.update({ where: { id: 1 }, data: { views: 3 } })
    expect(await v.fk.keyFor(a1)).toBe(key)
  })
})
