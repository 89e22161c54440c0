import { randomUUID } from 'node:crypto'
import { type Freshkey, Scope } from '@freshkey/core'
import pg from 'pg'
import { DataSource, type EntityManager, EntitySchema } from 'typeorm'
import type { ArticleData, ConformanceDriver, OrmSession } from '../../../../test/conformance/driver.ts'
import { freshkeyQueryResultCache, freshkeyTypeORM } from '../../src/index.ts'

// The shared blog schema of test/conformance/driver.ts on TypeORM. EntitySchema with classes as
// targets (no decorators, so any tsconfig compiles this file); the scope is declared with the
// @Scope decorator called as a function.

export class ConfUser {
  id!: number
  name!: string
}
export class ConfArticle {
  id!: number
  title!: string
  published!: boolean
  category!: string
  authorId!: number
}
export class ConfMembership {
  userId!: number
  groupId!: number
  role!: string
}
Scope(['published', 'category'])(ConfArticle)

const schemas = [
  new EntitySchema<ConfUser>({
    name: 'User',
    target: ConfUser,
    tableName: 'app_users',
    columns: { id: { type: 'integer', primary: true }, name: { type: 'text' } },
  }),
  new EntitySchema<ConfArticle>({
    name: 'Article',
    target: ConfArticle,
    tableName: 'blog_articles',
    columns: {
      id: { type: 'integer', primary: true },
      title: { type: 'text' },
      published: { type: 'boolean' },
      category: { type: 'text' },
      authorId: { type: 'integer', name: 'author_id' },
    },
  }),
  new EntitySchema<ConfMembership>({
    name: 'Membership',
    target: ConfMembership,
    tableName: 'memberships',
    columns: {
      userId: { type: 'integer', primary: true, name: 'user_id' },
      groupId: { type: 'integer', primary: true, name: 'group_id' },
      role: { type: 'text' },
    },
  }),
]

const DDL = [
  'CREATE TABLE app_users (id integer PRIMARY KEY, name text NOT NULL)',
  'CREATE TABLE blog_articles (id integer PRIMARY KEY, title text NOT NULL, published boolean NOT NULL, category text NOT NULL, author_id integer NOT NULL REFERENCES app_users (id))',
  'CREATE TABLE memberships (user_id integer NOT NULL, group_id integer NOT NULL, role text NOT NULL, PRIMARY KEY (user_id, group_id))',
]

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

function session(manager: EntityManager): OrmSession {
  const articles = manager.getRepository(ConfArticle)
  const memberships = manager.getRepository(ConfMembership)
  const self: OrmSession = {
    async insertUser(user) {
      await manager.getRepository(ConfUser).save(Object.assign(new ConfUser(), user))
    },
    async insertArticle(article) {
      await articles.save(Object.assign(new ConfArticle(), article))
    },
    async updateArticle(id, patch) {
      const a = await articles.findOneByOrFail({ id })
      await articles.save(Object.assign(a, patch))
    },
    async deleteArticle(id) {
      await articles.remove(await articles.findOneByOrFail({ id }))
    },
    async upsertArticle(article: ArticleData) {
      await articles.upsert(article, ['id'])
    },
    async bulkUpdateArticles(category, patch) {
      await articles.update({ category }, patch)
    },
    async bulkDeleteArticles(category) {
      await articles.delete({ category })
    },
    async updateArticleById(id, patch) {
      await articles.update(id, patch)
    },
    async insertMembership(m) {
      await memberships.save(Object.assign(new ConfMembership(), m))
    },
    async updateMembership(userId, groupId, role) {
      const m = await memberships.findOneByOrFail({ userId, groupId })
      m.role = role
      await memberships.save(m)
    },
    async transaction(fn) {
      await manager.transaction((em) => fn(session(em)))
    },
    async nested(fn) {
      if (!manager.queryRunner?.isTransactionActive) throw new Error('nested() must run inside transaction()')
      await manager.transaction((em) => fn(session(em)))
    },
    loadArticle: (id) => articles.findOneByOrFail({ id }),
    loadMembership: (userId, groupId) => memberships.findOneByOrFail({ userId, groupId }),
    articleTarget: ConfArticle,
    async cachedArticlesByCategory(category) {
      const rows = await articles.find({ where: { category }, order: { id: 'ASC' }, cache: 60_000 })
      return rows.map((a) => ({ id: a.id, title: a.title }))
    },
    async close() {},
  }
  return self
}

/** `ConformanceDriver` for @freshkey/typeorm: sql.js for `sqlite`, `pg` for `postgres`. */
export const typeormDriver: ConformanceDriver = {
  name: 'typeorm',
  async open({ db, databaseUrl, fk }: { db: 'sqlite' | 'postgres'; databaseUrl?: string; fk: Freshkey }) {
    let drop = async () => {}
    const cache = { provider: freshkeyQueryResultCache(fk, { prefix: 'conformance-typeorm' }) }
    let ds: DataSource
    if (db === 'sqlite') {
      ds = new DataSource({ type: 'sqljs', entities: schemas, cache })
    } else {
      if (!databaseUrl) throw new Error('the postgres conformance run needs a databaseUrl')
      // A database of our own beside the one given, dropped by close().
      const name = `fk_conf_typeorm_${randomUUID().replace(/-/g, '').slice(0, 12)}`
      await adminQuery(databaseUrl, `CREATE DATABASE ${name}`)
      drop = () => adminQuery(databaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      const url = new URL(databaseUrl)
      url.pathname = `/${name}`
      ds = new DataSource({ type: 'postgres', url: url.toString(), entities: schemas, cache })
    }
    await ds.initialize()
    for (const sql of DDL) await ds.query(sql)
    const handle = freshkeyTypeORM(ds, fk)
    const s = session(ds.manager)
    return {
      ...s,
      async close() {
        handle.dispose()
        await ds.destroy()
        await drop()
      },
    }
  },
}
