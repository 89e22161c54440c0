import { dep, formatDependency } from '@freshkey/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type Blog, openBlog } from './support/blog.ts'
import { Article, Membership, Tag, User } from './support/entities.ts'
import { bumpCounter, watch } from './support/probe.ts'
import { combos } from './support/services.ts'

const A = 'blog_articles'
const deps = [
  dep.row(A, 1),
  dep.row(A, 2),
  dep.row(A, 3),
  dep.row(A, 99),
  dep.table(A),
  dep.scope(A, { published: true, category: 'news' }),
  dep.scope(A, { published: false, category: 'news' }),
  dep.scope(A, { published: true, category: 'tech' }),
  dep.scope(A, { published: true, category: 'misc' }),
  dep.row('app_users', 1),
  dep.row('app_users', 2),
  dep.table('app_users'),
  dep.row('memberships', { userId: 1, groupId: 7 }),
  dep.table('memberships'),
  dep.table('article_tags'),
  dep.table('tags'),
]

// Without before images (issue 11), a write that takes a row out of a declared scope or changes a
// scoped field without naming every scoped field bumps the scheme-wide key: every scope of the list moves.
const scopes = deps.slice(5, 9).map(formatDependency)

describe.each(combos)('writes on %s with %s store', (db, store) => {
  let blog: Blog
  let moved: () => Promise<string[]>
  beforeEach(async () => {
    blog = await openBlog(db, store)
    moved = (await watch(blog.fk, deps)).moved
  })
  afterEach(() => blog.close())

  const articles = () => blog.ds.getRepository(Article)

  test('save() of a new entity: afterInsert bumps its row, table and the scope it enters', async () => {
    await articles().save({ id: 99, title: 'new', published: true, category: 'misc', authorId: 1 })
    expect(await moved()).toEqual([
      'blog_articles#99',
      'blog_articles#*',
      'scope:blog_articles{"published":true,"category":"misc"}',
    ])
  })

  test('save() of a loaded entity: afterUpdate bumps the row, the scope it enters and, without a before image, every scope of its unchanged category', async () => {
    const a = await articles().findOneByOrFail({ id: 2 })
    a.published = true
    await articles().save(a)
    // It left `published = ? and category = 'news'`: the category did not change, so only news scopes move.
    expect(await moved()).toEqual([
      'blog_articles#2',
      'blog_articles#*',
      ...deps.slice(5, 7).map(formatDependency),
    ])
  })

  test('save() changing an unscoped field leaves every scope alone', async () => {
    const a = await articles().findOneByOrFail({ id: 1 })
    a.title = 'renamed'
    await articles().save(a)
    expect(await moved()).toEqual(['blog_articles#1', 'blog_articles#*'])
  })

  test('remove(): afterRemove bumps the row and the scope it leaves', async () => {
    await articles().remove(await articles().findOneByOrFail({ id: 3 }))
    // The junction rows go by ON DELETE CASCADE: a bulk change of article_tags.
    expect(await moved()).toEqual(['blog_articles#3', 'blog_articles#*', ...scopes, 'article_tags#*'])
  })

  test('softRemove() and recover(): the row leaves (a delete) and re-enters its scope (an insert)', async () => {
    const a = await articles().findOneByOrFail({ id: 3 })
    await articles().softRemove(a)
    expect(await moved()).toEqual(['blog_articles#3', 'blog_articles#*', ...scopes, 'article_tags#*'])
    await articles().recover(a)
    expect(await moved()).toEqual([
      'blog_articles#3',
      'blog_articles#*',
      'scope:blog_articles{"published":true,"category":"tech"}',
    ])
  })

  test('repository.update(id): a row change with the values written, read nothing before it', async () => {
    await articles().update(3, { category: 'news' })
    expect(await moved()).toEqual(['blog_articles#3', 'blog_articles#*', ...scopes])
    expect((await articles().findOneByOrFail({ id: 3 })).category).toBe('news')
    await articles().update(3, { title: 'only the title' })
    expect(await moved()).toEqual(['blog_articles#3', 'blog_articles#*'])
  })

  test('repository.update(where) without a key: bulk, every row of the table', async () => {
    await articles().update({ category: 'tech' }, { title: 'x' })
    expect(await moved()).toEqual(deps.slice(0, 9).map(formatDependency))
  })

  test('repository.delete(id), softDelete(id), restore(id): row changes', async () => {
    await articles().softDelete(2)
    expect(await moved()).toEqual(['blog_articles#2', 'blog_articles#*', ...scopes, 'article_tags#*'])
    await articles().restore(2)
    expect(await moved()).toContain('blog_articles#2')
    await articles().delete(2)
    expect(await moved()).toEqual(['blog_articles#2', 'blog_articles#*', ...scopes, 'article_tags#*'])
  })

  test('insert() and upsert() by key: row changes', async () => {
    await articles().insert({ id: 99, title: 'i', published: true, category: 'misc', authorId: 1 })
    expect(await moved()).toEqual([
      'blog_articles#99',
      'blog_articles#*',
      'scope:blog_articles{"published":true,"category":"misc"}',
    ])
    await articles().upsert({ id: 1, title: 'up', published: true, category: 'news', authorId: 1 }, ['id'])
    expect(await moved()).toContain('blog_articles#1')
    expect(await moved()).toEqual([])
  })

  test('increment(): a row change', async () => {
    await articles().increment({ id: 1 }, 'authorId', 1)
    expect(await moved()).toEqual(['blog_articles#1', 'blog_articles#*'])
  })

  test('QueryBuilder writes with an SQL WHERE are bulk, even with callListeners(false)', async () => {
    await blog.ds
      .createQueryBuilder()
      .update(Article)
      .set({ title: 'q' })
      .where('id = :id', { id: 1 })
      .callListeners(false)
      .execute()
    const all = await moved()
    expect(all).toContain('blog_articles#3')
    expect(all).toContain('scope:blog_articles{"published":true,"category":"tech"}')
  })

  test('QueryBuilder delete by whereInIds is a row change plus the junction cascade', async () => {
    await blog.ds.createQueryBuilder().delete().from(Article).whereInIds([1]).execute()
    expect(await moved()).toEqual(['blog_articles#1', 'blog_articles#*', ...scopes, 'article_tags#*'])
  })

  test('deleting a user bumps the articles ON DELETE CASCADE removes (bulk)', async () => {
    await blog.ds.getRepository(User).delete(2)
    const m = await moved()
    expect(m).toContain('app_users#2')
    expect(m).not.toContain('app_users#1')
    expect(m).toContain('blog_articles#1')
    expect(m).toContain('scope:blog_articles{"published":true,"category":"tech"}')
    expect(await articles().count()).toBe(2)
  })

  test('composite keys: save and update of a membership bump its row', async () => {
    const repo = blog.ds.getRepository(Membership)
    const m = await repo.findOneByOrFail({ userId: 1, groupId: 7 })
    m.role = 'admin'
    await repo.save(m)
    expect(await moved()).toEqual(['memberships#groupId=7&userId=1', 'memberships#*'])
    await repo.update({ userId: 1, groupId: 7 }, { role: 'owner' })
    expect(await moved()).toEqual(['memberships#groupId=7&userId=1', 'memberships#*'])
  })

  test('many-to-many: the junction table is bumped on save and by RelationQueryBuilder', async () => {
    const tags = await blog.ds.getRepository(Tag).save([{ name: 'a' }, { name: 'b' }])
    await moved()
    const a = await articles().findOneByOrFail({ id: 1 })
    a.tags = tags
    await articles().save(a)
    expect(await moved()).toEqual(['article_tags#*'])
    await blog.ds.createQueryBuilder().relation(Article, 'tags').of(1).remove(tags[0]!.id)
    expect(await moved()).toEqual(['article_tags#*'])
  })

  test('raw query(): the written table is parsed; an unattributable write invalidates every table', async () => {
    await blog.ds.query(
      'UPDATE blog_articles SET title = $1 WHERE id = 1'.replace('$1', db === 'sqlite' ? '?' : '$1'),
      ['r'],
    )
    expect(await moved()).toContain('blog_articles#2')
    await blog.ds.query(`SELECT count(*) FROM app_users`)
    expect(await moved()).toEqual([])
  })

  test('clear(): bulk change of the table', async () => {
    await blog.ds.getRepository(Membership).clear()
    expect(await moved()).toEqual(['memberships#groupId=7&userId=1', 'memberships#*'])
  })

  test('save with listeners off or without a transaction is still captured', async () => {
    const counter = bumpCounter(blog.fk)
    await articles().save(
      { id: 1, title: 'nl', published: false, category: 'news', authorId: 1 },
      { listeners: false },
    )
    expect(await moved()).toContain('blog_articles#1')
    await articles().save(
      { id: 2, title: 'nt', published: false, category: 'news', authorId: 1 },
      { transaction: false },
    )
    expect(await moved()).toContain('blog_articles#2')
    expect(counter()).toBeGreaterThanOrEqual(2)
  })
})
