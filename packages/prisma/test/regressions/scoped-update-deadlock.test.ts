import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshkeyPrisma } from '../../src/index.ts'
import { openDatabase, type TestClient, type TestDatabase } from '../support/clients.ts'
import { matrix, newFreshkey } from '../support/harness.ts'
import { seed } from '../support/setup.ts'

/**
 * Regression: a scoped update read its before image with `SELECT … FOR UPDATE`, a stronger lock
 * than the UPDATE's own (`FOR NO KEY UPDATE`). Two transactions that each hold a foreign key's
 * `KEY SHARE` lock on the other's row (inserting a comment takes one on its article) then
 * deadlocked, where without freshkey both commit. PostgreSQL only: SQLite has one writer.
 */
/** What the test needs of a client, extended or not. */
interface Transactional {
  $transaction(fn: (tx: TestClient) => Promise<unknown>, options?: { timeout?: number }): Promise<unknown>
}

describe.each(matrix().filter((c) => c.db === 'postgres'))(
  'KEY SHARE vs a scoped update on $db with $store store',
  (combo) => {
    let db: TestDatabase
    const closers: (() => Promise<void>)[] = []
    beforeAll(async () => {
      db = await openDatabase('postgres', combo.databaseUrl, { poolSize: 4 })
      await seed(db)
    })
    afterAll(async () => {
      await db?.close()
      for (const c of closers) await c()
    })

    /** Both transactions insert a comment on one article, wait for each other, then update the other article's scoped field. */
    async function crossed(
      client: Pick<TestClient, '$transaction'> | Transactional,
      round: number,
      lockFirst = false,
    ) {
      let arrived = 0
      let release!: () => void
      const both = new Promise<void>((r) => {
        release = r
      })
      const side = (mine: number, theirs: number) =>
        client.$transaction(
          async (tx) => {
            await tx.comment.create({ data: { body: `r${round}`, articleId: mine } })
            if (++arrived === 2) release()
            await both
            if (lockFirst)
              await tx.$queryRawUnsafe('SELECT 1 FROM blog_articles WHERE id = $1 FOR UPDATE', theirs)
            await tx.article.update({ where: { id: theirs }, data: { category: `c${round}-${mine}` } })
          },
          { timeout: 10_000 },
        )
      return Promise.allSettled([side(1, 2), side(2, 1)])
    }

    it('succeeds with freshkey as it does without', async () => {
      const without = await crossed(db.base, 1)
      expect(without.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
      const { fk, close } = newFreshkey(combo.store, combo.redisUrl)
      closers.push(close)
      const prisma = db.base.$extends(
        freshkeyPrisma(fk, { metadata: db.metadata, scopes: { Article: ['published', 'category'] } }),
      )
      const withFreshkey = await crossed(prisma as unknown as Transactional, 2)
      expect(withFreshkey.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ])
      expect(fk.stats().adapterErrors).toBe(0)
    })

    it('the old locking before-image read in the same pattern deadlocks (what this test guards against)', async () => {
      const locked = await crossed(db.base, 3, true)
      expect(locked.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    })
  },
)
