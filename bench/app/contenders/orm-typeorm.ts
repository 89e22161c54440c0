// TypeORM 1.1 mapping of the blog (EntitySchema, no decorators) and the app's requests on it.
// `find*({ cache })` is passed through, so the built-in and freshkey query caches reuse the code.
import { DataSource, type DataSourceOptions, EntitySchema, In, type Repository } from 'typeorm'
import type { ArticleView, BaseApp, ContenderContext, ListItem, UserView } from './types.ts'

export class TUser {
  id!: number
  name!: string
  bio!: string
  rev!: number
}

export class TArticle {
  id!: number
  title!: string
  body!: string
  rev!: number
  published!: boolean
  categoryId!: number
  authorId!: number
  author?: TUser
  createdAt!: Date
}

export const UserSchema = new EntitySchema<TUser>({
  name: 'User',
  target: TUser,
  tableName: 'users',
  columns: {
    id: { type: 'integer', primary: true },
    name: { type: 'text' },
    bio: { type: 'text' },
    rev: { type: 'integer' },
  },
})

export const ArticleSchema = new EntitySchema<TArticle>({
  name: 'Article',
  target: TArticle,
  tableName: 'articles',
  columns: {
    id: { type: 'integer', primary: true },
    title: { type: 'text' },
    body: { type: 'text' },
    rev: { type: 'integer' },
    published: { type: 'boolean' },
    categoryId: { type: 'integer', name: 'category_id' },
    authorId: { type: 'integer', name: 'author_id' },
    createdAt: { type: 'timestamptz', name: 'created_at' },
  },
  relations: {
    // By class name: TypeORM finds a relation's target among schemas with a `target` by that class's name.
    author: { type: 'many-to-one', target: 'TUser', joinColumn: { name: 'author_id' } },
  },
})

export const userView = (u: TUser | null | undefined): UserView | null =>
  u ? { id: u.id, rev: u.rev, name: u.name, bio: u.bio } : null

export const articleRowView = (a: TArticle): Omit<ArticleView, 'author'> => ({
  id: a.id,
  rev: a.rev,
  title: a.title,
  body: a.body,
  categoryId: a.categoryId,
  published: a.published,
  authorId: a.authorId,
})

export interface TypeOrmOptions {
  /** DataSource `cache` option (TypeORM's query result cache). */
  cache?: DataSourceOptions['cache']
  /** `cache` of every read (`true` = the data source's duration, a number = ms). */
  readCache?: boolean | number
  /** Called before initialize() (e.g. to register freshkey). */
  before?(ds: DataSource): void | Promise<void>
}

export interface TypeOrmApp extends BaseApp {
  readonly ds: DataSource
}

export async function openTypeOrm(ctx: ContenderContext, options: TypeOrmOptions = {}): Promise<TypeOrmApp> {
  const ds = new DataSource({
    type: 'postgres',
    url: ctx.dbUrl,
    entities: [UserSchema, ArticleSchema],
    extra: { max: ctx.pool, idleTimeoutMillis: 0 },
    ...(options.cache ? { cache: options.cache } : {}),
  })
  await options.before?.(ds)
  await ds.initialize()
  const articles: Repository<TArticle> = ds.getRepository(TArticle)
  const users: Repository<TUser> = ds.getRepository(TUser)
  const cache = options.readCache ?? false

  return {
    ds,
    async articleById(id) {
      const a = await articles.findOne({ where: { id }, relations: { author: true }, cache })
      return a ? { ...articleRowView(a), author: userView(a.author) } : null
    },
    async newestOfCategory(categoryId) {
      const rows = await articles.find({
        select: { id: true, rev: true, title: true },
        where: { categoryId, published: true },
        order: { createdAt: 'DESC' },
        take: 20,
        cache,
      })
      return rows.map((r): ListItem => ({ id: r.id, rev: r.rev, title: r.title }))
    },
    countOfCategory(categoryId) {
      return articles.count({ where: { categoryId, published: true }, cache })
    },
    async profile(id) {
      return userView(await users.findOne({ where: { id }, cache }))
    },
    async articleRow(id) {
      const a = await articles.findOne({ where: { id } })
      return a ? articleRowView(a) : null
    },
    async newestIds(categoryId) {
      const rows = await articles.find({
        select: { id: true },
        where: { categoryId, published: true },
        order: { createdAt: 'DESC' },
        take: 20,
      })
      return rows.map((r) => r.id)
    },
    async listItems(ids) {
      if (ids.length === 0) return []
      const rows = await articles.find({
        select: { id: true, rev: true, title: true },
        where: { id: In([...ids]) },
      })
      const byId = new Map(rows.map((r) => [r.id, r]))
      return ids.flatMap((id) => {
        const r = byId.get(id)
        return r ? [{ id: r.id, rev: r.rev, title: r.title }] : []
      })
    },
    async retitle(w) {
      await articles.update({ id: w.id }, { title: w.title, rev: w.rev })
    },
    async move(w) {
      await articles.update({ id: w.id }, { categoryId: w.to, title: w.title, rev: w.rev })
    },
    async setPublished(w) {
      await articles.update({ id: w.id }, { published: w.published, title: w.title, rev: w.rev })
    },
    async insert(a) {
      await articles.insert({ ...a })
    },
    async editProfile(w) {
      await users.update({ id: w.id }, { bio: w.bio, rev: w.rev })
    },
    async close() {
      await ds.destroy()
    },
  }
}
