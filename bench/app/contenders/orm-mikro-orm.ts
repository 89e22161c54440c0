// MikroORM 7.2 mapping of the blog (defineEntity, no decorators) and the app's requests on it,
// each in a fresh fork of the entity manager (one per request, as with RequestContext).
import { defineEntity, type Options, p } from '@mikro-orm/core'
import { EntityManager, MikroORM } from '@mikro-orm/postgresql'
import type { ArticleView, BaseApp, ContenderContext, ListItem, UserView } from './types.ts'

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(false),
    name: p.text(),
    bio: p.text(),
    rev: p.integer(),
  },
})
export class MUser extends UserSchema.class {}
UserSchema.setClass(MUser)

export const ArticleSchema = defineEntity({
  name: 'Article',
  tableName: 'articles',
  properties: {
    id: p.integer().primary().autoincrement(false),
    title: p.text(),
    body: p.text(),
    rev: p.integer(),
    published: p.boolean(),
    categoryId: p.integer().fieldName('category_id'),
    author: () => p.manyToOne(MUser).fieldName('author_id'),
    createdAt: p.datetime().fieldName('created_at'),
  },
})
export class MArticle extends ArticleSchema.class {}
ArticleSchema.setClass(MArticle)

const userView = (u: MUser | null | undefined): UserView | null =>
  u ? { id: u.id, rev: u.rev, name: u.name, bio: u.bio } : null

const rowView = (a: MArticle): Omit<ArticleView, 'author'> => ({
  id: a.id,
  rev: a.rev,
  title: a.title,
  body: a.body,
  categoryId: a.categoryId,
  published: a.published,
  authorId: a.author.id,
})

export interface MikroOrmOptions {
  /** MikroORM `resultCache` option. */
  resultCache?: Options['resultCache']
  /** `cache` of every read (`true` = resultCache.expiration, a number = ms). */
  readCache?: boolean | number
  /** An entity manager subclass of its own, so freshkey's prototype wrappers stay off the others. */
  ownEntityManager?: boolean
}

export interface MikroOrmApp extends BaseApp {
  readonly orm: MikroORM
}

export async function openMikroOrm(
  ctx: ContenderContext,
  options: MikroOrmOptions = {},
): Promise<MikroOrmApp> {
  class OwnEntityManager extends EntityManager {}
  const orm = await MikroORM.init({
    clientUrl: ctx.dbUrl,
    entities: [UserSchema, ArticleSchema],
    pool: { min: 0, max: ctx.pool, idleTimeoutMillis: 0 },
    ...(options.resultCache ? { resultCache: options.resultCache } : {}),
    ...(options.ownEntityManager ? { entityManager: OwnEntityManager as never } : {}),
  })
  const cache = options.readCache ?? false
  const fork = () => orm.em.fork()
  const where = (categoryId: number) => ({ categoryId, published: true })

  return {
    orm,
    async articleById(id) {
      const a = await fork().findOne(MArticle, { id }, { populate: ['author'], cache })
      return a ? { ...rowView(a), author: userView(a.author as MUser) } : null
    },
    async newestOfCategory(categoryId) {
      const rows = await fork().find(MArticle, where(categoryId), {
        fields: ['id', 'rev', 'title'],
        orderBy: { createdAt: 'desc' },
        limit: 20,
        cache,
      })
      return rows.map((r): ListItem => ({ id: r.id, rev: r.rev, title: r.title }))
    },
    countOfCategory(categoryId) {
      return fork().count(MArticle, where(categoryId), { cache })
    },
    async profile(id) {
      return userView(await fork().findOne(MUser, { id }, { cache }))
    },
    async articleRow(id) {
      const a = await fork().findOne(MArticle, { id })
      return a ? rowView(a) : null
    },
    async newestIds(categoryId) {
      const rows = await fork().find(MArticle, where(categoryId), {
        fields: ['id'],
        orderBy: { createdAt: 'desc' },
        limit: 20,
      })
      return rows.map((r) => r.id)
    },
    async listItems(ids) {
      if (ids.length === 0) return []
      const rows = await fork().find(MArticle, { id: { $in: [...ids] } }, { fields: ['id', 'rev', 'title'] })
      const byId = new Map(rows.map((r) => [r.id, r]))
      return ids.flatMap((id) => {
        const r = byId.get(id)
        return r ? [{ id: r.id, rev: r.rev, title: r.title }] : []
      })
    },
    async retitle(w) {
      await fork().nativeUpdate(MArticle, { id: w.id }, { title: w.title, rev: w.rev })
    },
    async move(w) {
      await fork().nativeUpdate(MArticle, { id: w.id }, { categoryId: w.to, title: w.title, rev: w.rev })
    },
    async setPublished(w) {
      await fork().nativeUpdate(
        MArticle,
        { id: w.id },
        { published: w.published, title: w.title, rev: w.rev },
      )
    },
    async insert(a) {
      const { authorId, ...rest } = a
      await fork().insert(MArticle, { ...rest, author: authorId })
    },
    async editProfile(w) {
      await fork().nativeUpdate(MUser, { id: w.id }, { bio: w.bio, rev: w.rev })
    },
    async close() {
      await orm.close(true)
    },
  }
}
