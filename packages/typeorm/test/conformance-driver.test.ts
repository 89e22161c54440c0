import { dep } from '@freshkey/core'
import type { OrmSession } from '@freshkey/test-suite'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { typeormDriver } from '../../../test/conformance/drivers/typeorm.ts'
import { watch } from './support/probe.ts'
import { combos, openFreshkey } from './support/services.ts'

const A = 'blog_articles'

describe.each(combos)('conformance driver on %s with %s store', (db, store) => {
  let s: OrmSession
  let fkClose: () => Promise<void>
  let fk: ReturnType<typeof openFreshkey>['fk']
  beforeEach(async () => {
    const f = openFreshkey(store)
    fk = f.fk
    fkClose = f.close
    s = await typeormDriver.open({ db, databaseUrl: process.env.DATABASE_URL, fk })
    await s.insertUser({ id: 1, name: 'ada' })
    await s.insertArticle({ id: 1, title: 'one', published: true, category: 'news', authorId: 1 })
    await s.insertArticle({ id: 2, title: 'two', published: false, category: 'news', authorId: 1 })
  })
  afterEach(async () => {
    await s.close()
    await fkClose()
  })

  test('every operation bumps what it wrote', async () => {
    const { moved } = await watch(fk, [
      dep.row(A, 1),
      dep.row(A, 2),
      dep.row(A, 5),
      dep.scope(A, { published: true, category: 'news' }),
      dep.scope(A, { published: false, category: 'news' }),
      dep.row('memberships', { userId: 1, groupId: 2 }),
    ])
    await s.updateArticle(2, { published: true })
    expect(await moved()).toEqual([
      `${A}#2`,
      `scope:${A}{"published":true,"category":"news"}`,
      `scope:${A}{"published":false,"category":"news"}`,
    ])
    await s.upsertArticle({ id: 5, title: 'five', published: false, category: 'tech', authorId: 1 })
    // An upsert is an update without a before image (adapter contract): the whole scope moves.
    expect(await moved()).toEqual([
      `${A}#5`,
      `scope:${A}{"published":true,"category":"news"}`,
      `scope:${A}{"published":false,"category":"news"}`,
    ])
    await s.updateArticleById(1, { title: 'uno' })
    expect(await moved()).toEqual([`${A}#1`])
    await s.insertMembership({ userId: 1, groupId: 2, role: 'r' })
    await s.updateMembership(1, 2, 'admin')
    expect(await moved()).toEqual(['memberships#groupId=2&userId=1'])
    await s.bulkUpdateArticles('tech', { title: 'x' })
    expect(await moved()).toHaveLength(5)
    await s.deleteArticle(5)
    // A delete carries no before image (issue 11): a declared scope sees the row leave through its scheme-wide key.
    expect(await moved()).toEqual([
      `${A}#5`,
      `scope:${A}{"published":true,"category":"news"}`,
      `scope:${A}{"published":false,"category":"news"}`,
    ])
    await s.bulkDeleteArticles('news')
    expect(await moved()).toHaveLength(5)
  })

  test('transaction, nested rollback, keyFor and the ORM result cache', async () => {
    const { moved } = await watch(fk, [dep.row(A, 1), dep.row(A, 2)])
    await s.transaction(async (tx) => {
      await tx.updateArticleById(1, { title: 'a' })
      await expect(
        tx.nested(async (n) => {
          await n.updateArticleById(2, { title: 'b' })
          throw new Error('inner')
        }),
      ).rejects.toThrow('inner')
    })
    expect(await moved()).toEqual([`${A}#1`])
    const article = await s.loadArticle(1)
    expect(await fk.keyFor(article)).toBe(await fk.keyFor(dep.row(A, 1)))
    expect(await fk.keyFor(s.articleTarget)).toBe(await fk.keyFor(dep.table(A)))
    await s.insertMembership({ userId: 1, groupId: 3, role: 'r' })
    expect(await fk.keyFor(await s.loadMembership(1, 3))).toBe(
      await fk.keyFor(dep.row('memberships', { userId: 1, groupId: 3 })),
    )
    expect(await s.cachedArticlesByCategory('news')).toEqual([{ id: 1, title: 'a' }])
    await s.updateArticleById(1, { title: 'uno' })
    expect(await s.cachedArticlesByCategory('news')).toEqual([{ id: 1, title: 'uno' }])
    expect(await s.countArticles('news')).toBe(1)
    expect(await s.listArticles('news')).toEqual([{ id: 1, title: 'uno' }])
  })
})
