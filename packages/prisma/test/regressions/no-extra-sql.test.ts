import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshkeyPrisma } from '../../src/index.ts'
import { openDatabase, type TestClient, type TestDatabase } from '../support/clients.ts'

type Client = Omit<TestClient, '$on' | '$extends'>

import { matrix, newFreshkey } from '../support/harness.ts'
import { seed, wipe } from '../support/setup.ts'

/**
 * Regression: freshkey's own SQL (before-image reads, row locks, REPEATABLE READ retries) changed
 * what the ORM sent — MikroORM's suite saw 64 failures from it. The same workload through the
 * plain client and through freshkey must send exactly the same statements, in the same order.
 */
describe.each(matrix())('statements sent on $db with $store store', (combo) => {
  let db: TestDatabase
  const sent: string[] = []
  let close: () => Promise<void>
  beforeAll(async () => {
    db = await openDatabase(combo.db, combo.databaseUrl, { poolSize: 1, onQuery: (sql) => sent.push(sql) })
    const fresh = newFreshkey(combo.store, combo.redisUrl)
    close = async () => {
      await db.close()
      await fresh.close()
    }
    prisma = db.base.$extends(
      freshkeyPrisma(fresh.fk, { metadata: db.metadata, scopes: { Article: ['category'] } }),
    ) as unknown as Client
    fk = fresh.fk
  })
  afterAll(() => close?.())
  let prisma: Client
  let fk: ReturnType<typeof newFreshkey>['fk']

  /** Writes of every kind, transactions, raw SQL and reads (inside a load, where freshkey tracks them). */
  async function workload(c: Client, load: <T>(name: string, read: () => Promise<T>) => Promise<T>) {
    await c.article.create({ data: { id: 9, title: 'n', category: 'news', authorId: 1 } })
    await c.article.update({ where: { id: 9 }, data: { category: 'tech', title: 'm' } })
    await c.article.update({ where: { id: 9 }, data: { id: 10 } })
    await c.tag.update({ where: { name: 'db' }, data: { name: 'database' } })
    await c.article.upsert({ where: { id: 11 }, create: { id: 11, title: 'u', authorId: 2 }, update: {} })
    await c.user.update({
      where: { id: 2 },
      data: {
        articles: { create: { id: 12, title: 'c' }, connect: { id: 1 } },
        notes: { create: { text: 'x' } },
      },
    })
    await c.article.createMany({ data: [{ id: 13, title: 'a', authorId: 1 }] })
    await c.article.updateMany({ where: { category: 'tech' }, data: { views: 1 } })
    await c.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 1 }, data: { category: 'news' } })
      await tx.article.findMany({ where: { category: 'news' } })
      await tx.comment.deleteMany({ where: { articleId: 1 } })
    })
    await c.$transaction([c.article.delete({ where: { id: 13 } }), c.membership.deleteMany({})])
    await c.$executeRawUnsafe('UPDATE groups SET name = name')
    await load('list', () =>
      c.article.findMany({ where: { category: 'tech' }, include: { author: true, tags: true } }),
    )
    await load('one', () =>
      c.user.findUnique({ where: { id: 1 }, include: { articles: true, profile: true } }),
    )
    await load('count', () => c.article.count({ where: { published: false } }))
    await load('raw', () => c.$queryRawUnsafe('SELECT count(*) AS n FROM comments'))
    await c.article.delete({ where: { id: 10 } })
  }

  it('the same workload sends the same SQL with freshkey as without', async () => {
    await wipe(db)
    await seed(db)
    sent.length = 0
    await workload(db.base, (_name, read) => read())
    const without = [...sent]
    await wipe(db)
    await seed(db)
    sent.length = 0
    await workload(prisma, (name, read) => fk.wrap(`sql:${name}`, read))
    expect(sent.length).toBeGreaterThan(20)
    expect(sent).toEqual(without)
  })
})
