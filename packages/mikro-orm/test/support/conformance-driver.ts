import type { Freshkey } from '@freshkey/core'
import type { ArticleData, ConformanceDriver, OrmSession } from '@freshkey/test-suite'
import { Collection, type EntityManager, EntitySchema } from '@mikro-orm/core'
import { MikroORM as LibSqlORM } from '@mikro-orm/libsql'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import { freshkeyCacheAdapter, freshkeyMikroORM } from '../../src/index.ts'

class User {
  id!: number
  name!: string
  articles = new Collection<Article>(this)
}
class Article {
  id!: number
  title!: string
  published!: boolean
  category!: string
  authorId!: User | number
}
class Membership {
  userId!: number
  groupId!: number
  role!: string
}
class ChainA {
  id!: number
  label!: string
}
class ChainB {
  a!: ChainA | number
  label!: string
}
class ChainC {
  id!: number
  b!: ChainB | number
  label!: string
}

const int = { type: 'integer' } as const
const cascade = { deleteRule: 'cascade', updateRule: 'cascade' } as const
const schemas = [
  new EntitySchema<User>({
    class: User,
    tableName: 'app_users',
    properties: {
      id: { ...int, primary: true, autoincrement: false },
      name: { type: 'string' },
      articles: { kind: '1:m', entity: () => Article, mappedBy: 'authorId' },
    },
  }),
  new EntitySchema<Article>({
    class: Article,
    tableName: 'blog_articles',
    properties: {
      id: { ...int, primary: true, autoincrement: false },
      title: { type: 'string' },
      published: { type: 'boolean' },
      category: { type: 'string' },
      authorId: { kind: 'm:1', entity: () => User, fieldName: 'author_id' },
    },
  }),
  new EntitySchema<Membership>({
    class: Membership,
    tableName: 'memberships',
    properties: {
      userId: { ...int, primary: true, fieldName: 'user_id' },
      groupId: { ...int, primary: true, fieldName: 'group_id' },
      role: { type: 'string' },
    },
  }),
  new EntitySchema<ChainA>({
    class: ChainA,
    tableName: 'chain_a',
    properties: { id: { ...int, primary: true, autoincrement: false }, label: { type: 'string' } },
  }),
  new EntitySchema<ChainB>({
    class: ChainB,
    tableName: 'chain_b',
    properties: {
      a: { kind: 'm:1', entity: () => ChainA, primary: true, fieldName: 'a_id', ...cascade },
      label: { type: 'string' },
    },
  }),
  new EntitySchema<ChainC>({
    class: ChainC,
    tableName: 'chain_c',
    properties: {
      id: { ...int, primary: true, autoincrement: false },
      b: { kind: 'm:1', entity: () => ChainB, fieldName: 'b_id', ...cascade },
      label: { type: 'string' },
    },
  }),
]

const SCHEMA = [
  'create table app_users (id integer primary key, name text not null)',
  'create table blog_articles (id integer primary key, title text not null, published boolean not null, category text not null, author_id integer not null references app_users (id))',
  'create table memberships (user_id integer not null, group_id integer not null, role text not null, primary key (user_id, group_id))',
  'create table chain_a (id integer primary key, label text not null)',
  'create table chain_b (a_id integer primary key references chain_a (id) on delete cascade on update cascade, label text not null)',
  'create table chain_c (id integer primary key, b_id integer not null references chain_b (a_id) on delete cascade on update cascade, label text not null)',
]

type Patch = Partial<Omit<ArticleData, 'id'>>

/** The conformance scenarios through MikroORM: the unit of work for single rows, native calls for the rest. */
function session(fresh: () => EntityManager, orm: () => EntityManager): OrmSession {
  const flushed = async (work: (em: EntityManager) => unknown) => {
    const em = fresh()
    await work(em)
    await em.flush()
  }
  const s: OrmSession = {
    insertUser: (user) => flushed((em) => em.create(User, user)),
    insertArticle: (article) => flushed((em) => em.create(Article, article)),
    updateArticle: (id, patch) =>
      flushed(async (em) => em.assign(await em.findOneOrFail(Article, id), patch)),
    deleteArticle: (id) => flushed(async (em) => em.remove(await em.findOneOrFail(Article, id))),
    upsertArticle: async (article) => {
      await fresh().upsert(Article, article)
    },
    bulkUpdateArticles: async (category: string, patch: Patch) => {
      await fresh().nativeUpdate(Article, { category }, patch)
    },
    bulkDeleteArticles: async (category) => {
      await fresh().nativeDelete(Article, { category })
    },
    updateArticleById: async (id, patch) => {
      await fresh().nativeUpdate(Article, { id }, patch)
    },
    insertMembership: (m) => flushed((em) => em.create(Membership, m)),
    updateMembership: (userId, groupId, role) =>
      flushed(async (em) => {
        ;(await em.findOneOrFail(Membership, { userId, groupId })).role = role
      }),
    insertUserWithArticles: (user, articles) =>
      flushed((em) =>
        em.create(User, { ...user, articles: articles.map(({ authorId: _, ...a }) => a) } as never),
      ),
    insertChain: (id, cId) =>
      flushed((em) => {
        const a = em.create(ChainA, { id, label: 'a' })
        const b = em.create(ChainB, { a, label: 'b' })
        em.create(ChainC, { id: cId, b, label: 'c' })
      }),
    deleteChainA: (id) => flushed(async (em) => em.remove(await em.findOneOrFail(ChainA, id))),
    updateChainAId: async (id, newId) => {
      await fresh().nativeUpdate(ChainA, { id }, { id: newId })
    },
    raw: async (sql) => {
      await (fresh() as unknown as { execute(sql: string): Promise<unknown> }).execute(sql)
    },
    transaction: async (fn) => {
      await fresh().transactional((em) => fn(session(() => em, orm)))
    },
    nested: async (fn) => {
      await fresh().transactional((em) => fn(session(() => em, orm)))
    },
    unseenTransaction: async (fn) => {
      // Begun on the driver's client, below MikroORM: no event, no connection call the adapter sees.
      const em = orm().fork()
      const connection = em.getConnection() as unknown as {
        getClient?: () => { startTransaction(): { execute(): Promise<object> } }
        getKnex?: () => { transaction(): Promise<object> }
      }
      const trx = connection.getKnex
        ? await connection.getKnex().transaction()
        : await connection.getClient!().startTransaction().execute()
      em.setTransactionContext(trx as never)
      await fn(session(() => em, orm))
      await em.commit()
    },
    loadArticle: (id) => fresh().findOneOrFail(Article, id),
    loadMembership: (userId, groupId) => fresh().findOneOrFail(Membership, { userId, groupId }),
    articleTarget: Article,
    listArticles: async (category) =>
      (await fresh().find(Article, { category, published: true }, { orderBy: { id: 'asc' } })).map((a) => ({
        id: a.id,
        title: a.title,
      })),
    countArticles: (category) => fresh().count(Article, { category, published: true }),
    cachedArticlesByCategory: async (category) =>
      (
        await fresh().find(Article, { category, published: true }, { cache: true, orderBy: { id: 'asc' } })
      ).map((a) => ({
        id: a.id,
        title: a.title,
      })),
    close: async () => {},
  }
  return s
}

/** `@freshkey/mikro-orm` in the shared adapter conformance suite. */
export const mikroOrmDriver: ConformanceDriver = {
  name: 'mikro-orm',
  async open({ db, databaseUrl, fk }: { db: 'sqlite' | 'postgres'; databaseUrl?: string; fk: Freshkey }) {
    const options = { entities: schemas, resultCache: { adapter: freshkeyCacheAdapter(fk) } }
    const orm =
      db === 'sqlite'
        ? await LibSqlORM.init({ dbName: ':memory:', ...options })
        : await PostgreSqlORM.init({ clientUrl: databaseUrl, ...options })
    for (const sql of SCHEMA) await orm.em.fork().execute(sql)
    const handle = freshkeyMikroORM(orm, fk)
    return {
      ...session(
        () => orm.em.fork(),
        () => orm.em,
      ),
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
    await admin.em.fork().execute(`drop database if exists "${name}" with (force)`)
  } finally {
    await admin.close(true)
  }
}
