import { randomUUID } from 'node:crypto'
import { type Freshkey, Scope } from '@freshkey/core'
import type { ArticleData, ConformanceDriver, OrmSession } from '@freshkey/test-suite'
import pg from 'pg'
import { DataSource, type EntityManager, EntitySchema } from 'typeorm'
import { freshkeyQueryResultCache, freshkeyTypeORM, type TypeORMBinding } from '../../src/index.ts'

// The shared blog schema of @freshkey/test-suite (adapter-driver.ts) on TypeORM. EntitySchema with classes as
// targets (no decorators, so any tsconfig compiles this file); the scope is declared with the
// @Scope decorator called as a function.

export class ConfUser {
  id!: number
  name!: string
  articles?: ConfArticle[]
}
export class ConfArticle {
  id!: number
  title!: string
  published!: boolean
  category!: string
  authorId!: number
  author?: ConfUser
}
export class ConfMembership {
  userId!: number
  groupId!: number
  role!: string
}
export class ChainA {
  id!: number
  label!: string
}
export class ChainB {
  aId!: number
  label!: string
  a?: ChainA
}
export class ChainC {
  id!: number
  bId!: number
  label!: string
  b?: ChainB
}
Scope(['published', 'category'])(ConfArticle)

const schemas = [
  new EntitySchema<ConfUser>({
    name: 'User',
    target: ConfUser,
    tableName: 'app_users',
    columns: { id: { type: 'integer', primary: true }, name: { type: 'text' } },
    relations: {
      articles: { type: 'one-to-many', target: 'ConfArticle', inverseSide: 'author', cascade: ['insert'] },
    },
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
    relations: {
      author: {
        type: 'many-to-one',
        target: 'ConfUser',
        joinColumn: { name: 'author_id' },
        inverseSide: 'articles',
      },
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
  // A chain of database-side effects two hops long, declared with its ON DELETE / ON UPDATE actions.
  new EntitySchema<ChainA>({
    name: 'ChainA',
    target: ChainA,
    tableName: 'chain_a',
    columns: { id: { type: 'integer', primary: true }, label: { type: 'text' } },
  }),
  new EntitySchema<ChainB>({
    name: 'ChainB',
    target: ChainB,
    tableName: 'chain_b',
    columns: { aId: { type: 'integer', primary: true, name: 'a_id' }, label: { type: 'text' } },
    relations: {
      a: {
        type: 'one-to-one',
        target: 'ChainA',
        joinColumn: { name: 'a_id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
    },
  }),
  new EntitySchema<ChainC>({
    name: 'ChainC',
    target: ChainC,
    tableName: 'chain_c',
    columns: {
      id: { type: 'integer', primary: true },
      bId: { type: 'integer', name: 'b_id' },
      label: { type: 'text' },
    },
    relations: {
      b: {
        type: 'many-to-one',
        target: 'ChainB',
        joinColumn: { name: 'b_id', referencedColumnName: 'aId' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
    },
  }),
]

const DDL = [
  'CREATE TABLE app_users (id integer PRIMARY KEY, name text NOT NULL)',
  'CREATE TABLE blog_articles (id integer PRIMARY KEY, title text NOT NULL, published boolean NOT NULL, category text NOT NULL, author_id integer NOT NULL REFERENCES app_users (id))',
  'CREATE TABLE memberships (user_id integer NOT NULL, group_id integer NOT NULL, role text NOT NULL, PRIMARY KEY (user_id, group_id))',
  'CREATE TABLE chain_a (id integer PRIMARY KEY, label text NOT NULL)',
  'CREATE TABLE chain_b (a_id integer PRIMARY KEY REFERENCES chain_a (id) ON DELETE CASCADE ON UPDATE CASCADE, label text NOT NULL)',
  'CREATE TABLE chain_c (id integer PRIMARY KEY, b_id integer NOT NULL REFERENCES chain_b (a_id) ON DELETE CASCADE ON UPDATE CASCADE, label text NOT NULL)',
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

interface Driven {
  ds: DataSource
  fk: Freshkey
  binding: TypeORMBinding
}

const published = (category: string) => ({
  where: { published: true, category },
  order: { id: 'ASC' as const },
})

function session(manager: EntityManager, driven: Driven): OrmSession {
  const articles = manager.getRepository(ConfArticle)
  const memberships = manager.getRepository(ConfMembership)
  const chain = <T extends object>(target: new () => T) => manager.getRepository(target)
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
    async insertUserWithArticles(user, list) {
      const articlesOf = list.map((a) => Object.assign(new ConfArticle(), a))
      await manager
        .getRepository(ConfUser)
        .save(Object.assign(new ConfUser(), user, { articles: articlesOf }))
    },
    async insertChain(id, cId) {
      await chain(ChainA).insert({ id, label: 'a' })
      await chain(ChainB).insert({ aId: id, label: 'b' })
      await chain(ChainC).insert({ id: cId, bId: id, label: 'c' })
    },
    async deleteChainA(id) {
      await chain(ChainA).delete(id)
    },
    async updateChainAId(id, newId) {
      await chain(ChainA).update(id, { id: newId })
    },
    async raw(sql) {
      await manager.query(sql)
    },
    async transaction(fn) {
      await manager.transaction((em) => fn(session(em, driven)))
    },
    async nested(fn) {
      if (!manager.queryRunner?.isTransactionActive) throw new Error('nested() must run inside transaction()')
      await manager.transaction((em) => fn(session(em, driven)))
    },
    async unseenTransaction(fn) {
      // Begun while no binding watched the data source: the binding registered afterwards never saw the start.
      const runner = driven.ds.createQueryRunner()
      driven.binding.dispose()
      try {
        await runner.startTransaction()
        driven.binding = freshkeyTypeORM(driven.ds, driven.fk)
        await fn(session(runner.manager, driven))
        await runner.commitTransaction()
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction()
        throw error
      } finally {
        if (driven.binding.disposed) driven.binding = freshkeyTypeORM(driven.ds, driven.fk)
        await runner.release()
      }
    },
    loadArticle: (id) => articles.findOneByOrFail({ id }),
    loadMembership: (userId, groupId) => memberships.findOneByOrFail({ userId, groupId }),
    articleTarget: ConfArticle,
    async listArticles(category) {
      return (await articles.find(published(category))).map((a) => ({ id: a.id, title: a.title }))
    },
    async countArticles(category) {
      return articles.count({ where: published(category).where })
    },
    async cachedArticlesByCategory(category) {
      const rows = await articles.find({ ...published(category), cache: 60_000 })
      return rows.map((a) => ({ id: a.id, title: a.title }))
    },
    async close() {},
  }
  return self
}

/** `ConformanceDriver` for @freshkey/typeorm: sql.js for `sqlite`, `pg` for `postgres`. */
export const typeormDriver: ConformanceDriver = {
  name: 'typeorm',
  returnsSchemeFields: ['postgres'],
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
    const driven: Driven = { ds, fk, binding: freshkeyTypeORM(ds, fk) }
    return {
      ...session(ds.manager, driven),
      async close() {
        driven.binding.dispose()
        await ds.destroy()
        await drop()
      },
    }
  },
}
