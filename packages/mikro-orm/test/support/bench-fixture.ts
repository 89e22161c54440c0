import { Scope } from '@freshkey/core'
import { defineEntity, p } from '@mikro-orm/core'
import { EntityManager, MikroORM } from '@mikro-orm/postgresql'

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
