import { dep } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey } from './support/backends.ts'
import { Article, Comment, CommentSchema } from './support/entities.ts'
import { useHarness } from './support/harness.ts'
import { queryText } from './support/observe.ts'

const list = (published: boolean, category: string) => dep.scope(Article, { published, category })

describe.each(backends)('scopes declared with @Scope on the entity class ($name)', (backend) => {
  const queries: string[] = []
  const h = useHarness(backend, {
    orm: {
      debug: ['query'],
      logger: (m: string) => queries.push(queryText(m)),
    },
  })
  const em = () => h.ctx.orm.em.fork()

  async function edit(
    id: number,
    patch: Partial<{ title: string; published: boolean; category: string }>,
  ): Promise<void> {
    const e = em()
    const a = await e.findOneOrFail(Article, id)
    Object.assign(a, patch)
    await e.flush()
  }

  test('a row moving between categories invalidates the list it left and the one it entered', async () => {
    await edit(1, { category: 'tech' })
    expect(h.bumps.bumped(list(false, 'news'), list(false, 'tech'))).toBe(true)
    expect(h.bumps.bumped(list(true, 'tech'))).toBe(false)
  })

  test('publishing moves the row between published lists', async () => {
    await edit(1, { published: true })
    expect(h.bumps.bumped(list(false, 'news'), list(true, 'news'))).toBe(true)
    expect(h.bumps.bumped(list(true, 'tech'))).toBe(false)
  })

  test('a change of an unscoped field leaves the lists alone', async () => {
    await edit(1, { title: 'renamed' })
    expect(h.bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    expect(h.bumps.bumped(list(false, 'news'))).toBe(false)
  })

  test('inserts and deletes invalidate the list of their row', async () => {
    const e = em()
    e.create(Article, { id: 3, title: 'n', published: true, category: 'sports', author: 1 })
    e.remove(await e.findOneOrFail(Article, 2))
    await e.flush()
    expect(h.bumps.bumped(list(true, 'sports'), list(true, 'tech'))).toBe(true)
    expect(h.bumps.bumped(list(false, 'news'))).toBe(false)
  })

  test('the before image is read inside the flush transaction, locked where the database can', async () => {
    const e = em()
    const a = await e.findOneOrFail(Article, 1)
    a.category = 'tech'
    queries.length = 0
    await e.flush()
    const begin = queries.indexOf('begin')
    const read = queries.findIndex((q) => q.startsWith('select') && q.includes('blog_articles'))
    const update = queries.findIndex((q) => q.startsWith('update'))
    expect(begin).toBeGreaterThanOrEqual(0)
    expect(read).toBeGreaterThan(begin)
    expect(update).toBeGreaterThan(read)
    if (backend.db === 'postgres') expect(queries[read]).toMatch(/for update$/)
  })

  test('an unscoped update reads nothing extra', async () => {
    const e = em()
    const a = await e.findOneOrFail(Article, 1)
    a.title = 'cheap'
    queries.length = 0
    await e.flush()
    expect(queries.filter((q) => q.startsWith('select'))).toEqual([])
  })

  test('a native update of a scoped field with unknown before image bumps the whole scope', async () => {
    await em().nativeUpdate(Article, 1, { category: 'tech' })
    expect(h.bumps.bumped(list(true, 'anything'))).toBe(true)
  })
})

describe.each(backends)('scopedBeforeImages: missing ($name)', (backend) => {
  const h = useHarness(backend, { adapter: { scopedBeforeImages: 'missing' } })

  test('trusts a complete identity map snapshot (and reads no row)', async () => {
    const stale = h.ctx.orm.em.fork()
    const a = await stale.findOneOrFail(Article, 1)
    await h.ctx.orm.em.fork().nativeUpdate(Article, 1, { category: 'tech' })
    h.bumps.reset()
    a.category = 'sports'
    await stale.flush()
    // The documented trade-off: the snapshot said `news`, so that list is bumped, not `tech`.
    expect(h.bumps.bumped(list(false, 'news'), list(false, 'sports'))).toBe(true)
    expect(h.bumps.bumped(list(false, 'tech'))).toBe(false)
  })

  test('reads when the snapshot lacks a scoped field (partial load)', async () => {
    const e = h.ctx.orm.em.fork()
    const a = await e.findOneOrFail(Article, 1, { fields: ['title'] })
    ;(a as Article).category = 'sports'
    await e.flush()
    expect(h.bumps.bumped(list(false, 'news'), list(false, 'sports'))).toBe(true)
    expect(h.bumps.bumped(list(true, 'news'))).toBe(false)
  })
})

describe.each(backends)('scopedBeforeImages: none ($name)', (backend) => {
  const h = useHarness(backend, { adapter: { scopedBeforeImages: 'none' } })

  test('never reads: a snapshot without the scoped fields bumps the whole scope', async () => {
    const e = h.ctx.orm.em.fork()
    const a = await e.findOneOrFail(Article, 1, { fields: ['title'] })
    ;(a as Article).category = 'tech'
    await e.flush()
    expect(h.bumps.bumped(list(true, 'anything'))).toBe(true)
  })
})

describe.each(backends)('scopes on a defineEntity schema and on a relation ($name)', (backend) => {
  const h = useHarness(backend)

  test('fk.defineScope(schema) declared before registration resolves once the adapter knows the schema', async () => {
    const fk = makeFreshkey(backend.store)
    fk.defineScope(CommentSchema, ['article'])
    expect(fk.scopedFields('article_comments')).toEqual([])
    const handle = freshkeyMikroORM(h.ctx.orm, fk)
    expect(fk.scopedFields('article_comments')).toEqual(['article'])
    handle.dispose()
    await fk.store.close()
  })

  test('a comment moving to another article invalidates both articles’ comment lists', async () => {
    h.fk.defineScope(CommentSchema, ['article'])
    const e = h.ctx.orm.em.fork()
    const c = await e.findOneOrFail(Comment, 1)
    c.article = e.getReference(Article, 2)
    await e.flush()
    const comments = (article: number) => dep.scope('article_comments', { article })
    expect(h.bumps.bumped(comments(1), comments(2))).toBe(true)
    expect(h.bumps.bumped(comments(3))).toBe(false)
  })
})
