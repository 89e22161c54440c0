// Prisma 7 (driver adapter pg) on the blog: the client generated from bench/app/prisma/schema.prisma
// and the app's requests on it. Extensions (freshkey, prisma-extension-redis) are applied by the
// contenders through `extend`; `delegate` lets freshkey's `.cached()` reads reuse the same code.
import { PrismaPg } from '@prisma/adapter-pg'
import { generatePrismaClient } from '../prisma/generate.ts'
import type { ArticleView, BaseApp, ContenderContext, ListItem, UserView } from './types.ts'

generatePrismaClient()
const { PrismaClient } = await import('../generated/client/client.ts')
export const { metadata } = (await import('../generated/freshkey/index.js' as string)) as {
  metadata: import('@freshkey/prisma').FreshkeyPrismaMetadata
}

export type BasePrismaClient = InstanceType<typeof PrismaClient>
/** Any extension of the base client: the bench only calls model methods on it. */
export type AnyPrismaClient = any

export interface PrismaOptions {
  extend?(base: BasePrismaClient): AnyPrismaClient
  /** The delegate reads go through, e.g. `(c, model) => c[model].cached()`; default `c[model]`. */
  delegate?(client: AnyPrismaClient, model: 'article' | 'user'): AnyPrismaClient
}

export interface PrismaApp extends BaseApp {
  readonly base: BasePrismaClient
  readonly client: AnyPrismaClient
}

type Row = {
  id: number
  rev: number
  title: string
  body: string
  categoryId: number
  published: boolean
  authorId: number
}
const userView = (u: UserView | null): UserView | null =>
  u ? { id: u.id, rev: u.rev, name: u.name, bio: u.bio } : null
const rowView = (a: Row): Omit<ArticleView, 'author'> => ({
  id: a.id,
  rev: a.rev,
  title: a.title,
  body: a.body,
  categoryId: a.categoryId,
  published: a.published,
  authorId: a.authorId,
})

export async function openPrisma(ctx: ContenderContext, options: PrismaOptions = {}): Promise<PrismaApp> {
  const base = new PrismaClient({
    adapter: new PrismaPg({ connectionString: ctx.dbUrl, max: ctx.pool, idleTimeoutMillis: 0 }),
  })
  const client: AnyPrismaClient = options.extend ? options.extend(base) : base
  const read = (model: 'article' | 'user') =>
    options.delegate ? options.delegate(client, model) : client[model]
  const where = (categoryId: number) => ({ categoryId, published: true })

  return {
    base,
    client,
    async articleById(id) {
      const a = await read('article').findUnique({ where: { id }, include: { author: true } })
      return a ? { ...rowView(a), author: userView(a.author) } : null
    },
    async newestOfCategory(categoryId) {
      const rows: ListItem[] = await read('article').findMany({
        where: where(categoryId),
        orderBy: { createdAt: 'desc' },
        take: 20,
        select: { id: true, rev: true, title: true },
      })
      return rows.map((r) => ({ id: r.id, rev: r.rev, title: r.title }))
    },
    countOfCategory(categoryId) {
      return read('article').count({ where: where(categoryId) })
    },
    async profile(id) {
      return userView(await read('user').findUnique({ where: { id } }))
    },
    async articleRow(id) {
      const a = await client.article.findUnique({ where: { id } })
      return a ? rowView(a) : null
    },
    async newestIds(categoryId) {
      const rows: { id: number }[] = await client.article.findMany({
        where: where(categoryId),
        orderBy: { createdAt: 'desc' },
        take: 20,
        select: { id: true },
      })
      return rows.map((r) => r.id)
    },
    async listItems(ids) {
      if (ids.length === 0) return []
      const rows: ListItem[] = await client.article.findMany({
        where: { id: { in: [...ids] } },
        select: { id: true, rev: true, title: true },
      })
      const byId = new Map(rows.map((r) => [r.id, r]))
      return ids.flatMap((id) => {
        const r = byId.get(id)
        return r ? [{ id: r.id, rev: r.rev, title: r.title }] : []
      })
    },
    async retitle(w) {
      await client.article.update({ where: { id: w.id }, data: { title: w.title, rev: w.rev } })
    },
    async move(w) {
      await client.article.update({
        where: { id: w.id },
        data: { categoryId: w.to, title: w.title, rev: w.rev },
      })
    },
    async setPublished(w) {
      await client.article.update({
        where: { id: w.id },
        data: { published: w.published, title: w.title, rev: w.rev },
      })
    },
    async insert(a) {
      await client.article.create({ data: { ...a } })
    },
    async editProfile(w) {
      await client.user.update({ where: { id: w.id }, data: { bio: w.bio, rev: w.rev } })
    },
    async close() {
      await base.$disconnect()
    },
  }
}
