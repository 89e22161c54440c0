import { freshkeyPrisma } from '../../../packages/prisma/src/index.ts'
import { openConformanceDatabase } from '../../../packages/prisma/test/support/conformance-db.ts'
import type { ArticleData, ConformanceDriver, OrmSession } from '../driver.ts'

type Patch = Partial<Omit<ArticleData, 'id'>>

/** @freshkey/prisma on Prisma 7 (adapter-libsql / adapter-pg), with its generator's metadata. */
export const prismaDriver: ConformanceDriver = {
  name: 'prisma',
  async open({ db, databaseUrl, fk }) {
    const database = await openConformanceDatabase(db, databaseUrl)
    const prisma = database.base.$extends(freshkeyPrisma(fk, { metadata: database.metadata }))
    type Client = Pick<typeof prisma, 'user' | 'article' | 'membership'>

    const session = (c: Client, tx?: { $transaction: typeof prisma.$transaction }): OrmSession => ({
      async insertUser(user) {
        await c.user.create({ data: user })
      },
      async insertArticle(article) {
        await c.article.create({ data: article })
      },
      async updateArticle(id: number, patch: Patch) {
        await c.article.findUniqueOrThrow({ where: { id } })
        await c.article.update({ where: { id }, data: patch })
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
      async transaction(fn) {
        await prisma.$transaction((t) => fn(session(t, t)))
      },
      async nested(fn) {
        if (!tx) throw new Error('nested() runs inside transaction()')
        await tx.$transaction((t) => fn(session(t, t)))
      },
      loadArticle: (id) => c.article.findUniqueOrThrow({ where: { id } }),
      loadMembership: (userId, groupId) =>
        c.membership.findUniqueOrThrow({ where: { userId_groupId: { userId, groupId } } }),
      articleTarget: prisma.article,
      cachedArticlesByCategory: (category) =>
        c.article
          .cached()
          .findMany({ where: { category }, select: { id: true, title: true }, orderBy: { id: 'asc' } }),
      close: () => database.close(),
    })

    return session(prisma)
  },
}
