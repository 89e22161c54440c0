import { dep, Scope } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey } from './support/backends.ts'
import { Article, Comment, CommentSchema } from './support/entities.ts'
import { useHarness } from './support/harness.ts'
import { queryText } from './support/observe.ts'

const list = (published: boolean, category: string) => dep.scope(Article, { published, category })

// Declared scopes are an optimisation now (cached reads register their own filters). A write
// reports no before image, so a row leaving a declared scope bumps that scope as a whole: wider,
// never stale, and never an extra (locking) read inside the user's transaction.
Scope(['published', 'category'])(Article)

describe.each(backends)('scopes declared with @Scope on the entity class ($name)', (backend) => {
  const queries: string[] = []
  const h = useHarness(backend, {
    orm: { debug: ['query'], logger: (m: string) => queries.push(queryText(m)) },
  })
  const em = () => h.ctx.orm.em.fork()

  async function edit(
    id: number,
    patch: Partial<{ title: string; published: boolean; category: string }>,
  ): Promise<void> {
    const e = em()
    Object.assign(await e.findOneOrFail(Article, id), patch)
    queries.length = 0
    await e.flush()
  }

  test('a row moving between categories bumps the list it entered and, as a whole, the one it left', async () => {
    expect(h.fk.scopedFields('blog_articles')).toEqual(['category', 'published'])
    await edit(1, { category: 'tech' })
    expect(h.bumps.bumped(list(false, 'news'), list(false, 'tech'))).toBe(true)
    const entered = h.fk.tokenKeysOf([list(false, 'tech')])[0]!
    expect(h.bumps.calls.flat()).toContain(entered)
  })

  test('a change of an unscoped field leaves the lists alone', async () => {
    await edit(1, { title: 'renamed' })
    expect(h.bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    expect(h.bumps.bumped(list(false, 'news'))).toBe(false)
  })

  test('an insert bumps the list it entered only', async () => {
    const e = em()
    e.create(Article, { id: 3, title: 'n', published: true, category: 'sports', author: 1 })
    await e.flush()
    expect(h.bumps.bumped(list(true, 'sports'))).toBe(true)
    expect(h.bumps.bumped(list(false, 'news'))).toBe(false)
  })

  // Regression: a scoped update read a before image with SELECT … FOR UPDATE inside the flush.
  test('a scoped update runs no statement of freshkey’s own (no before-image read)', async () => {
    await edit(1, { category: 'tech' })
    expect(queries.filter((q) => /^select/i.test(q))).toEqual([])
    expect(queries.some((q) => /for update/i.test(q))).toBe(false)
  })

  test('a native update of a scoped field bumps the scope as a whole', async () => {
    await em().nativeUpdate(Article, 1, { category: 'tech' })
    expect(h.bumps.bumped(list(true, 'anything'))).toBe(true)
  })
})

describe.each(backends)('scopes on an EntitySchema and on a relation ($name)', (backend) => {
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
  })
})
