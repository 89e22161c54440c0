import { dep, formatDependency } from '@freshkey/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type Blog, openBlog } from './support/blog.ts'
import { Article } from './support/entities.ts'
import { watch } from './support/probe.ts'
import { combos } from './support/services.ts'

// An autocommit `update(id, { published })` names one field of the scope (published, category).
// On PostgreSQL the statement returns its row's category (RETURNING, no read), so the write bumps
// the scope it entered and, for the one it left, every scope of its unchanged category, not every
// scope of the table; the next update of the row is fenced with the category seen last and checked
// against the one returned. Elsewhere (SQLite) the write widens to the scheme.

const A = 'blog_articles'
const scopes = [
  dep.scope(A, { published: true, category: 'news' }),
  dep.scope(A, { published: false, category: 'news' }),
  dep.scope(A, { published: true, category: 'tech' }),
  dep.scope(A, { published: false, category: 'tech' }),
]
const deps = [dep.row(A, 2), dep.table(A), ...scopes]
const label = (i: number) => formatDependency(scopes[i]!)

describe.each(combos)('updates that return their scheme fields on %s with %s store', (db, store) => {
  let blog: Blog
  let moved: () => Promise<string[]>
  beforeEach(async () => {
    blog = await openBlog(db, store)
    blog.fk.defineScope(A, ['published', 'category'])
    moved = (await watch(blog.fk, deps)).moved
  })
  afterEach(() => blog.close())
  const articles = () => blog.ds.getRepository(Article)
  const own = ['blog_articles#2', 'blog_articles#*']

  test('update(id) of one scoped field bumps the scopes of the row’s category only', async () => {
    // Article 2: news, unpublished.
    const result = await articles().update(2, { published: true })
    expect(result.affected).toBe(1)
    expect(result.raw).toEqual([])
    expect(await moved()).toEqual(
      db === 'postgres' ? [...own, label(0), label(1)] : [...own, label(0), label(1), label(2), label(3)],
    )
  })

  test('a cached list of another category keeps hitting', async () => {
    let loads = 0
    const tech = () =>
      blog.fk.wrap('tech', () => {
        loads++
        return articles().find({ where: { category: 'tech', published: true }, order: { id: 'ASC' } })
      })
    expect((await tech()).map((a) => a.id)).toEqual([3])
    await articles().update(2, { published: true })
    await blog.fk.idle()
    expect((await tech()).map((a) => a.id)).toEqual([3])
    expect(loads).toBe(db === 'postgres' ? 1 : 2)
    await articles().update(2, { category: 'tech' })
    expect((await tech()).map((a) => a.id)).toEqual([2, 3])
    expect(loads).toBe(db === 'postgres' ? 2 : 3)
  })

  test('a row a cached read returned: its update fences the row’s scopes at once, no bump after it', async () => {
    const bumps = () => blog.fk.stats().invalidations
    // Never seen: the scopes of article 3 (tech) are bumped once the row returned says where it is.
    let before = bumps()
    await articles().update(3, { published: false })
    await blog.fk.idle()
    expect(bumps() - before).toBe(db === 'postgres' ? 2 : 1)
    await moved()
    // Read inside a wrap: the row's published and category are remembered, so the fence names them.
    await blog.fk.wrap('article 2', () => articles().findOneByOrFail({ id: 2 }))
    before = bumps()
    await articles().update(2, { published: true })
    await blog.fk.idle()
    expect(bumps() - before).toBe(1)
    expect(await moved()).toEqual(
      db === 'postgres' ? [...own, label(0), label(1)] : [...own, label(0), label(1), label(2), label(3)],
    )
    expect(blog.fk.stats().adapterErrors).toBe(0)
  })

  test('a row moved behind this process’s back: the wrong guess is bumped again before the call returns', async () => {
    await articles().update(2, { published: true }) // seen: category news
    // Another process moves the row; this one learns nothing of it.
    await blog.ds.query(`UPDATE ${A} SET category = 'tech' WHERE id = 2`)
    await moved()
    await articles().update(2, { published: false })
    // PostgreSQL: fenced as news, the row returned says tech, so tech's scopes moved too (without
    // that check only news's would have); SQLite: the scheme-wide key.
    expect(await moved()).toEqual([...own, label(0), label(1), label(2), label(3)])
    expect((await articles().findOneByOrFail({ id: 2 })).category).toBe('tech')
  })
})
