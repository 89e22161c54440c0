import type { ArticleData, ConformanceDriver, OrmSession } from '@freshkey/test-suite'
import { freshkeyPrisma } from '../../../packages/prisma/src/index.ts'
import { openConformanceDatabase } from '../../../packages/prisma/test/support/conformance-db.ts'
import { prismaMajor } from '../../../packages/prisma/test/support/generate-clients.ts'

type Patch = Partial<Omit<ArticleData, 'id'>>

/** @freshkey/prisma on Prisma 7 (or 6, under packages/prisma/compat/6), adapter-libsql / adapter-pg, with its generator's metadata. */
export const prismaDriver: ConformanceDriver = {
  name: 'prisma',
  returnsSchemeFields: ['sqlite', 'postgres'],
  savepoints: prismaMajor >= 7,
  async open({ db, databaseUrl, fk }) {
    const database = await openConformanceDatabase(db, databaseUrl)
    const prisma = database.base.$extends(freshkeyPrisma(fk, { metadata: database.metadata }))
    // An extension applied after freshkey whose $transaction skips freshkey's: transactions it runs
    // start where freshkey cannot see them.
    const proto = Object.getPrototypeOf(
      (database.base as unknown as { _originalClient: object })._originalClient,
    )
    const unseen = prisma.$extends({
      client: {
        $transaction(this: unknown, fn: unknown, options?: unknown) {
          return proto.$transaction.call(this, fn, options)
        },
      },
    }) as unknown as typeof prisma
    type Client = Pick<
      typeof prisma,
      'user' | 'article' | 'membership' | 'chainA' | 'chainB' | 'chainC' | '$executeRawUnsafe'
    >
    const published = (category: string) => ({
      where: { category, published: true },
      orderBy: { id: 'asc' as const },
    })

    const session = (c: Client, tx?: { $transaction: typeof prisma.$transaction }): OrmSession => ({
      async insertUser(user) {
        await c.user.create({ data: user })
      },
      async insertArticle(article) {
        await c.article.create({ data: article })
      },
      // Read, change, write: in a transaction, as Prisma code does it (the update returns the row).
      async updateArticle(id: number, patch: Patch) {
        const change = async (t: Client) => {
          await t.article.findUniqueOrThrow({ where: { id } })
          await t.article.update({ where: { id }, data: patch })
        }
        await (tx ? change(c) : prisma.$transaction((t) => change(t)))
      },
      async deleteArticle(id) {
        await c.article.findUniqueOrThrow({ where: { id } })
        await c.article.delete({ where: { id } })
      },
      async upsertArticle({ id, ...rest }) {
        await c.article.upsert({ where: { id }, create: { id, ...rest }, update: rest })
      },
      async bulkUpdateArticles(category, patch) {
        await c.article.updateMany({ where: { category }, data: patch })
      },
      async bulkDeleteArticles(category) {
        await c.article.deleteMany({ where: { category } })
      },
      async updateArticleById(id, patch) {
        await c.article.update({ where: { id }, data: patch })
      },
      async insertMembership(m) {
        await c.membership.create({ data: m })
      },
      async updateMembership(userId, groupId, role) {
        await c.membership.update({ where: { userId_groupId: { userId, groupId } }, data: { role } })
      },
      async insertUserWithArticles(user, articles) {
        await c.user.create({
          data: { ...user, articles: { create: articles.map(({ authorId: _, ...a }) => a) } },
        })
      },
      async insertChain(id, cId) {
        await c.chainA.create({ data: { id, label: 'a' } })
        await c.chainB.create({ data: { aId: id, label: 'b' } })
        await c.chainC.create({ data: { id: cId, bId: id, label: 'c' } })
      },
      async deleteChainA(id) {
        await c.chainA.delete({ where: { id } })
      },
      async updateChainAId(id, newId) {
        await c.chainA.update({ where: { id }, data: { id: newId } })
      },
      async raw(sql) {
        await c.$executeRawUnsafe(sql)
      },
      async transaction(fn) {
        await prisma.$transaction((t) => fn(session(t, t)))
      },
      async nested(fn) {
        if (!tx) throw new Error('nested() runs inside transaction()')
        await tx.$transaction((t) => fn(session(t, t)))
      },
      async unseenTransaction(fn) {
        await unseen.$transaction((t) => fn(session(t, t)))
      },
      loadArticle: (id) => c.article.findUniqueOrThrow({ where: { id } }),
      loadMembership: (userId, groupId) =>
        c.membership.findUniqueOrThrow({ where: { userId_groupId: { userId, groupId } } }),
      articleTarget: prisma.article,
      listArticles: (category) =>
        c.article.findMany({ ...published(category), select: { id: true, title: true } }),
      countArticles: (category) => c.article.count({ where: { category, published: true } }),
      cachedArticlesByCategory: (category) =>
        (c as typeof prisma).article
          .cached()
          .findMany({ ...published(category), select: { id: true, title: true } }),
      close: () => database.close(),
    })

    return session(prisma)
  },
}
