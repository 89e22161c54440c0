import { dep } from '@freshkey/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type Blog, openBlog } from './support/blog.ts'
import { Article, type CommentRow, CommentSchema, Membership, User } from './support/entities.ts'
import { combos } from './support/services.ts'

describe.each(combos)('keyFor on %s with %s store', (db, store) => {
  let blog: Blog
  beforeEach(async () => {
    blog = await openBlog(db, store)
  })
  afterEach(() => blog.close())

  test('an entity is its own row: its key moves with its row only', async () => {
    const repo = blog.ds.getRepository(Article)
    const one = await repo.findOneByOrFail({ id: 1 })
    const before = await blog.fk.keyFor(one, 'card')
    expect(await blog.fk.keyFor(dep.row('blog_articles', 1), 'card')).toBe(before)
    await repo.update(2, { title: 'other' })
    expect(await blog.fk.keyFor(one, 'card')).toBe(before)
    await repo.update(1, { title: 'mine' })
    expect(await blog.fk.keyFor(one, 'card')).not.toBe(before)
  })

  test('an entity class (or schema, or name) is its table', async () => {
    const k = await blog.fk.keyFor(Article)
    expect(await blog.fk.keyFor(dep.table('blog_articles'))).toBe(k)
    expect(blog.handle.tableOf(Article)).toBe('blog_articles')
    expect(blog.handle.tableOf('Comment')).toBe('article_comments')
    expect(blog.handle.tableOf(CommentSchema)).toBe('article_comments')
    await blog.ds.getRepository(Article).update(3, { title: 'x' })
    expect(await blog.fk.keyFor(Article)).not.toBe(k)
  })

  test('composite keys identify by property names', async () => {
    const m = await blog.ds.getRepository(Membership).findOneByOrFail({ userId: 1, groupId: 7 })
    expect(await blog.fk.keyFor(m)).toBe(
      await blog.fk.keyFor(dep.row('memberships', { groupId: 7, userId: 1 })),
    )
  })

  test('plain-object entities of an EntitySchema are identified once loaded or saved', async () => {
    const repo = blog.ds.getRepository(CommentSchema)
    const saved = await repo.save({ id: 1, body: 'hi', articleId: 1 })
    expect(await blog.fk.keyFor(saved)).toBe(await blog.fk.keyFor(dep.row('article_comments', 1)))
    const loaded = (await repo.findOneByOrFail({ id: 1 })) as CommentRow
    expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype)
    const k = await blog.fk.keyFor(loaded)
    expect(k).toBe(await blog.fk.keyFor(dep.row('article_comments', 1)))
    await repo.update(1, { body: 'edited' })
    expect(await blog.fk.keyFor(loaded)).not.toBe(k)
  })

  test('relations loaded with an entity are not dependencies unless passed explicitly', async () => {
    const a = await blog.ds
      .getRepository(Article)
      .findOneOrFail({ where: { id: 1 }, relations: { author: true } })
    const alone = await blog.fk.keyFor(a)
    const withAuthor = await blog.fk.keyFor(a, a.author)
    await blog.ds.getRepository(User).update(1, { name: 'renamed' })
    expect(await blog.fk.keyFor(a)).toBe(alone)
    expect(await blog.fk.keyFor(a, a.author)).not.toBe(withAuthor)
  })

  test('handle.changed() declares writes the adapter cannot see', async () => {
    const k = await blog.fk.keyFor(dep.row('blog_articles', 2))
    const qr = blog.ds.createQueryRunner()
    await qr.query('UPDATE blog_articles SET title = title')
    expect(await blog.fk.keyFor(dep.row('blog_articles', 2))).toBe(k)
    await blog.handle.changed([Article], qr)
    await qr.release()
    expect(await blog.fk.keyFor(dep.row('blog_articles', 2))).not.toBe(k)
  })
})
