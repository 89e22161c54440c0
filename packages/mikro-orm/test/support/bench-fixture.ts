import { createFreshkey, type Freshkey, Scope, type Store } from '@freshkey/core'
import { type FillTicket, ResultCache } from '@freshkey/core/adapter'
import { type CacheAdapter, defineEntity, p } from '@mikro-orm/core'
import { EntityManager, MikroORM } from '@mikro-orm/postgresql'
import { freshkeyCacheAdapter, freshkeyMikroORM } from '../../src/index.ts'

// The blog article table for bench/mikro-orm-commit, without decorators so plain `node` runs it.

const BenchArticleSchema = defineEntity({
  name: 'BenchArticle',
  tableName: 'blog_articles',
  properties: {
    id: p.integer().primary().autoincrement(false),
    title: p.string(),
    published: p.boolean(),
    category: p.string(),
  },
})
export class BenchArticle extends BenchArticleSchema.class {}
BenchArticleSchema.setClass(BenchArticle)
Scope(['published', 'category'])(BenchArticle)

/** The watched ORM's own entity manager class, so freshkey's wrappers never touch the plain ORM's. */
class WatchedEntityManager extends EntityManager {}

/** Two ORMs (pool `poolSize` each) on one fresh PostgreSQL database with two articles. */
export async function openBenchDatabase(
  poolSize: number,
): Promise<{ plain: MikroORM; watched: MikroORM; close: () => Promise<void> }> {
  const base = process.env.DATABASE_URL!
  const name = `fk_bench_mikro_${process.pid}`
  const admin = await MikroORM.init({
    clientUrl: base,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  })
  await admin.em.execute(`drop database if exists ${name} with (force)`)
  await admin.em.execute(`create database ${name}`)
  const url = new URL(base)
  url.pathname = `/${name}`
  const make = (entityManager?: typeof WatchedEntityManager) =>
    MikroORM.init({
      clientUrl: url.toString(),
      entities: [BenchArticleSchema],
      pool: { min: poolSize, max: poolSize },
      ...(entityManager ? { entityManager: entityManager as never } : {}),
    })
  const plain = await make()
  await plain.schema.create()
  const em = plain.em.fork()
  for (const id of [1, 2]) em.create(BenchArticle, { id, title: 't', published: true, category: 'tech' })
  await em.flush()
  const watched = await make(WatchedEntityManager)
  return {
    plain,
    watched,
    close: async () => {
      await plain.close(true)
      await watched.close(true)
      await admin.em.execute(`drop database if exists ${name} with (force)`)
      await admin.close(true)
    },
  }
}

// ---------------------------------------------------------------- bench/mikro-orm-cache

// The same table as the commit bench, with its declared scope.
export const CachedArticle = BenchArticle
const CachedArticleSchema = BenchArticleSchema

/** The result cache with table dependencies, as it was: any write to a table a query read invalidates it. */
function tableDepsAdapter(fk: Freshkey): new () => CacheAdapter {
  const cache = new ResultCache(fk, 'mikro-orm-before')
  const pending = new Map<string, (FillTicket | undefined)[]>()
  return class TableDeps implements CacheAdapter {
    async get<T>(key: string): Promise<T | undefined> {
      const found = await cache.lookup(key, ['blog_articles'])
      if (found.hit) return found.value as T
      pending.set(key, [...(pending.get(key) ?? []), found.ticket])
      return undefined
    }
    async set(key: string, data: unknown) {
      await cache.fill(pending.get(key)?.shift(), data, [{ table: 'blog_articles', whole: true }])
    }
    async remove(key: string) {
      await cache.remove(key)
    }
    async clear() {
      await cache.clear()
    }
    close() {}
  }
}

/** One contender of the cache bench: its own database, ORM and freshkey instance. */
export interface CacheBenchDatabase {
  readonly name: string
  readonly orm: MikroORM
  readonly fk: Freshkey | undefined
  readonly cache: boolean
  /** Per article, the versions finished writes returned, with the operation count when they did. */
  readonly returned: Map<number, [at: number, version: number][]>
  /** Operations started so far. */
  seq: number
  stale: number
  drop(): Promise<void>
}

/** A database of `articles` articles (title `v0`) for one contender: no cache, table dependencies, or the adapter's. */
export async function openCacheBenchDatabase(
  name: string,
  mode: 'none' | 'before' | 'after',
  store: Store | undefined,
  size: { articles: number; categories: number; pool: number },
): Promise<CacheBenchDatabase> {
  const admin = await MikroORM.init({
    clientUrl: process.env.DATABASE_URL,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  })
  const db = `fk_bench_cache_${process.pid}_${mode}`
  await admin.em.fork().execute(`drop database if exists ${db} with (force)`)
  await admin.em.fork().execute(`create database ${db}`)
  const url = new URL(process.env.DATABASE_URL!)
  url.pathname = `/${db}`
  const fk = store
    ? createFreshkey({ store, namespace: `bench-cache-${process.pid}-${mode}`, logger: false })
    : undefined
  const adapter = fk && (mode === 'after' ? freshkeyCacheAdapter(fk) : tableDepsAdapter(fk))
  const orm = await MikroORM.init({
    clientUrl: url.toString(),
    entities: [CachedArticleSchema],
    pool: { min: size.pool, max: size.pool },
    ...(adapter ? { resultCache: { adapter, expiration: 600_000 } } : {}),
  })
  await orm.schema.create()
  for (let from = 1; from <= size.articles; from += 1000) {
    await orm.em.fork().insertMany(
      CachedArticle,
      Array.from({ length: Math.min(1000, size.articles - from + 1) }, (_, i) => ({
        id: from + i,
        title: 'v0',
        published: true,
        category: `c${(from + i) % size.categories}`,
      })),
    )
  }
  const handle = fk ? freshkeyMikroORM(orm, fk) : undefined
  await handle?.verify()
  return {
    name,
    orm,
    fk,
    cache: fk !== undefined,
    returned: new Map(),
    seq: 0,
    stale: 0,
    async drop() {
      handle?.dispose()
      await orm.close(true)
      await fk?.close()
      await admin.em.fork().execute(`drop database if exists ${db} with (force)`)
      await admin.close(true)
    },
  }
}
