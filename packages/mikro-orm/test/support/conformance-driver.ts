import type { Freshkey } from '@freshkey/core'
import { defineEntity, type EntityManager, p } from '@mikro-orm/core'
import { MikroORM as LibSqlORM } from '@mikro-orm/libsql'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import type { ArticleData, ConformanceDriver, OrmSession } from '../../../../test/conformance/driver.ts'
import { freshkeyCacheAdapter, freshkeyMikroORM } from '../../src/index.ts'

const User = defineEntity({
  name: 'User',
  tableName: 'app_users',
  properties: { id: p.integer().primary().autoincrement(false), name: p.string() },
})

const Article = defineEntity({
  name: 'Article',
  tableName: 'blog_articles',
  properties: {
    id: p.integer().primary().autoincrement(false),
    title: p.string(),
    published: p.boolean(),
    category: p.string(),
    authorId: p.integer().fieldName('author_id'),
  },
})

const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    userId: p.integer().primary().fieldName('user_id'),
    groupId: p.integer().primary().fieldName('group_id'),
    role: p.string(),
  },
})

const SCHEMA = [
  'create table app_users (id integer primary key, name text not null)',
  'create table blog_articles (id integer primary key, title text not null, published boolean not null, category text not null, author_id integer not null references app_users (id))',
  'create table memberships (user_id integer not null, group_id integer not null, role text not null, primary key (user_id, group_id))',
]

type Patch = Partial<Omit<ArticleData, 'id'>>

/** The conformance scenarios through MikroORM: unit of work for single rows, native calls for the rest. */
function session(fresh: () => EntityManager): OrmSession {
  const s: OrmSession = {
    async insertUser(user) {
      const em = fresh()
      em.create(User, user)
      await em.flush()
    },
    async insertArticle(article) {
      const em = fresh()
      em.create(Article, article)
      await em.flush()
    },
    async updateArticle(id, patch) {
      const em = fresh()
      em.assign(await em.findOneOrFail(Article, id), patch)
      await em.flush()
    },
    async deleteArticle(id) {
      const em = fresh()
      em.remove(await em.findOneOrFail(Article, id))
      await em.flush()
    },
    async upsertArticle(article) {
      await fresh().upsert(Article, article)
    },
    async bulkUpdateArticles(category: string, patch: Patch) {
      await fresh().nativeUpdate(Article, { category }, patch)
    },
    async bulkDeleteArticles(category) {
      await fresh().nativeDelete(Article, { category })
    },
    async updateArticleById(id, patch) {
      await fresh().nativeUpdate(Article, { id }, patch)
    },
    async insertMembership(m) {
      const em = fresh()
      em.create(Membership, m)
      await em.flush()
    },
    async updateMembership(userId, groupId, role) {
      const em = fresh()
      const m = await em.findOneOrFail(Membership, { userId, groupId })
      m.role = role
      await em.flush()
    },
    async transaction(fn) {
      await fresh().transactional((em) => fn(session(() => em)))
    },
    async nested(fn) {
      await fresh().transactional((em) => fn(session(() => em)))
    },
    loadArticle: (id) => fresh().findOneOrFail(Article, id),
    loadMembership: (userId, groupId) => fresh().findOneOrFail(Membership, { userId, groupId }),
    articleTarget: Article,
    async cachedArticlesByCategory(category) {
      const rows = await fresh().find(Article, { category }, { cache: true, orderBy: { id: 'asc' } })
      return rows.map((a) => ({ id: a.id, title: a.title }))
    },
    close: async () => {},
  }
  return s
}

/** `@freshkey/mikro-orm` in the shared adapter conformance suite. */
export const mikroOrmDriver: ConformanceDriver = {
  name: 'mikro-orm',
  async open({ db, databaseUrl, fk }: { db: 'sqlite' | 'postgres'; databaseUrl?: string; fk: Freshkey }) {
    const options = {
      entities: [User, Article, Membership],
      resultCache: { adapter: freshkeyCacheAdapter(fk) },
    }
    const orm =
      db === 'sqlite'
        ? await LibSqlORM.init({ dbName: ':memory:', ...options })
        : await PostgreSqlORM.init({ clientUrl: databaseUrl, ...options })
    for (const sql of SCHEMA) await orm.em.execute(sql)
    const handle = freshkeyMikroORM(orm, fk)
    const s = session(() => orm.em.fork())
    return {
      ...s,
      async close() {
        handle.dispose()
        await orm.close(true)
        if (db === 'postgres' && databaseUrl) await dropDatabase(databaseUrl)
      },
    }
  },
}

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url)
  const name = target.pathname.slice(1)
  target.pathname = '/postgres'
  const admin = await PostgreSqlORM.init({
    clientUrl: target.toString(),
    entities: [],
    discovery: { warnWhenNoEntities: false },
  })
  try {
    await admin.em.execute(`drop database if exists "${name}" with (force)`)
  } finally {
    await admin.close(true)
  }
}
