import { dep } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshkeyPrisma } from '../../src/index.ts'
import { openDatabase, type TestDatabase } from '../support/clients.ts'
import { matrix, newFreshkey, watch } from '../support/harness.ts'

/**
 * A role without SELECT on a column writes through Prisma with `select`/`omit` leaving that column
 * out. freshkey must not ask for it (no extra read, no column added to RETURNING). PostgreSQL only.
 */
describe.each(matrix().filter((c) => c.db === 'postgres'))(
  'column privileges on $db with $store store',
  (combo) => {
    let db: TestDatabase
    let close: () => Promise<void>
    beforeAll(async () => {
      const role = `fk_writer_${process.pid}`
      db = await openDatabase('postgres', combo.databaseUrl, {
        user: role,
        setup: [
          `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN; END IF; END $$`,
          `GRANT USAGE ON SCHEMA public TO ${role}`,
          `GRANT SELECT (id, title, published, category, author_id), INSERT, UPDATE, DELETE ON blog_articles TO ${role}`,
          `GRANT SELECT, INSERT, UPDATE, DELETE ON app_users, comments, "_ArticleToTag" TO ${role}`,
        ],
      })
      await db.sql('INSERT INTO app_users (id, full_name) VALUES (1, $1)', ['Ada'])
      await db.sql(
        "INSERT INTO blog_articles (id, title, published, category, author_id) VALUES (1, 'one', true, 'tech', 1)",
      )
      close = async () => {
        await db.close()
      }
    })
    afterAll(() => close?.())

    it('updates, creates and deletes that leave the column out succeed through freshkey and invalidate', async () => {
      const { fk, close: closeFk } = newFreshkey(combo.store, combo.redisUrl)
      try {
        const prisma = db.base.$extends(
          freshkeyPrisma(fk, { metadata: db.metadata, scopes: { Article: ['published', 'category'] } }),
        )
        const w = await watch(fk, { a1: dep.row('blog_articles', 1), a2: dep.row('blog_articles', 2) })
        const select = { id: true, title: true, category: true } as const
        await expect(db.base.article.update({ where: { id: 1 }, data: { title: 'x' } })).rejects.toThrow(
          /permission/,
        )
        expect(await prisma.article.update({ where: { id: 1 }, data: { category: 'news' }, select })).toEqual(
          {
            id: 1,
            title: 'one',
            category: 'news',
          },
        )
        await prisma.$transaction((tx) =>
          tx.article.update({ where: { id: 1 }, data: { title: 't' }, select }),
        )
        await prisma.article.create({
          data: { id: 2, title: 'two', authorId: 1 },
          select: { title: true },
        })
        expect(await w.changed()).toEqual(['a1', 'a2'])
        const list = () =>
          fk.wrap('titles', () =>
            prisma.article.findMany({ select: { title: true }, orderBy: { id: 'asc' } }),
          )
        expect(await list()).toEqual([{ title: 't' }, { title: 'two' }])
        await prisma.article.delete({ where: { id: 2 }, select: { id: true } })
        await fk.idle()
        expect(await list()).toEqual([{ title: 't' }])
        expect(fk.stats().adapterErrors).toBe(0)
      } finally {
        await closeFk()
      }
    })
  },
)
