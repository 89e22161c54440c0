import { dep } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshkeyPrisma } from '../../src/index.ts'
import { openDatabase, type TestDatabase } from '../support/clients.ts'
import { matrix, newFreshkey, watch } from '../support/harness.ts'
import { seed } from '../support/setup.ts'

/**
 * Regression: the before-image lock statement named tables without PrismaPg's `schema` option and
 * failed on tables outside `public`. freshkey now sends no SQL of its own. PostgreSQL only.
 */
describe.each(matrix().filter((c) => c.db === 'postgres'))(
  "PrismaPg's schema option on $db with $store store",
  (combo) => {
    let db: TestDatabase
    beforeAll(async () => {
      db = await openDatabase('postgres', combo.databaseUrl, { schema: 'fk_other' })
      await seed(db)
    })
    afterAll(() => db?.close())

    it('scoped writes, transactions, raw SQL and cached reads work on tables in another schema', async () => {
      const { fk, close } = newFreshkey(combo.store, combo.redisUrl)
      try {
        const prisma = db.base.$extends(
          freshkeyPrisma(fk, { metadata: db.metadata, scopes: { Article: ['published', 'category'] } }),
        )
        const w = await watch(fk, { a1: dep.row('blog_articles', 1), articles: dep.table('blog_articles') })
        await prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
        await prisma.$transaction((tx) => tx.article.update({ where: { id: 1 }, data: { published: false } }))
        expect(await w.changed()).toEqual(['a1', 'articles'])
        await prisma.$executeRawUnsafe('UPDATE fk_other.blog_articles SET views = 2 WHERE id = 2')
        expect(await w.changed()).toEqual(['a1', 'articles'])
        const read = () =>
          prisma.article.cached().findMany({ where: { category: 'news' }, orderBy: { id: 'asc' } })
        expect((await read()).map((a) => a.id)).toEqual([1, 3])
        await fk.idle()
        await read()
        expect(fk.stats().hits).toBe(1)
      } finally {
        await close()
      }
    })
  },
)
