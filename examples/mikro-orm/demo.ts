// A small blog on MikroORM with @freshkey/mikro-orm: libsql in memory and an in-memory store by
// default, PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set.
// Run: pnpm --filter @freshkey/example-mikro-orm demo
import { subscribe } from 'node:diagnostics_channel'
import { channels, createFreshkey, dep, memoryStore } from '@freshkey/core'
import { freshkeyCacheAdapter, freshkeyMikroORM } from '@freshkey/mikro-orm'
import { redisStore } from '@freshkey/redis'
import { MikroORM as LibSqlORM } from '@mikro-orm/libsql'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import { Article, entities, User } from './schema.ts'

const store = process.env.REDIS_URL ? redisStore(process.env.REDIS_URL) : memoryStore()
const fk = createFreshkey({ store, namespace: 'example-mikro-orm' })
// em.find(..., { cache: true }) results live in freshkey and are invalidated by commits.
const resultCache = { adapter: freshkeyCacheAdapter(fk) }
// The query log only counts selects, to show whether a result came from the database.
let queries = 0
const logging = {
  debug: ['query' as const],
  logger: (message: string) => void (message.includes('select ') && queries++),
}
const orm = process.env.DATABASE_URL
  ? await PostgreSqlORM.init({ clientUrl: process.env.DATABASE_URL, entities, resultCache, ...logging })
  : await LibSqlORM.init({ dbName: ':memory:', entities, resultCache, ...logging })
await orm.schema.update()
const handle = freshkeyMikroORM(orm, fk) // right after init
console.log(
  `database: ${process.env.DATABASE_URL ? 'postgresql' : 'libsql (memory)'}, store: ${process.env.REDIS_URL ? 'redis' : 'memory'}\n`,
)

await orm.em.fork().transactional(async (em) => {
  await em.nativeDelete(Article, {})
  await em.nativeDelete(User, {})
  const ada = em.create(User, { id: 1, name: 'Ada' })
  const brian = em.create(User, { id: 2, name: 'Brian' })
  em.create(Article, { id: 1, title: 'Caching, explained', published: true, category: 'news', author: ada })
  em.create(Article, { id: 2, title: 'Draft: tokens', published: false, category: 'news', author: ada })
  em.create(Article, { id: 3, title: 'Redis tips', published: true, category: 'tech', author: brian })
})

// One article: its own row (fk.keyFor(entity) gives the same dependency). A list: a scope.
const articleTitle = fk.cached(async (id: number) => (await orm.em.fork().findOneOrFail(Article, id)).title, {
  name: 'articleTitle',
  deps: (id) => [dep.row('example_articles', id)],
})
const published = (category: string) =>
  fk.wrap([dep.scope(Article, { published: true, category })], async () =>
    (await orm.em.fork().find(Article, { published: true, category }, { orderBy: { id: 'asc' } })).map(
      (a) => a.title,
    ),
  )
// MikroORM's own result cache: the entry depends on the tables the query read (articles, users).
const withAuthors = async () =>
  (
    await orm.em
      .fork()
      .find(Article, { published: true }, { cache: true, populate: ['author'], orderBy: { id: 'asc' } })
  ).map((a) => `${a.title} (${a.author.name})`)

let invalidations = 0
subscribe(channels.invalidate, () => invalidations++)
let last = { ...fk.stats(), invalidations }
async function step(title: string, run: () => Promise<void>) {
  console.log(`── ${title}`)
  await run()
  const now = { ...fk.stats(), invalidations }
  console.log(
    `   hits +${now.hits - last.hits}, misses +${now.misses - last.misses}, invalidations +${now.invalidations - last.invalidations}\n`,
  )
  last = now
}
const show = async () => {
  console.log(`   news: ${JSON.stringify(await published('news'))}`)
  console.log(`   tech: ${JSON.stringify(await published('tech'))}`)
  console.log(`   article 1: ${await articleTitle(1)}`)
}

await step('first reads: everything misses and is cached', show)
await step('same reads: all hits', show)
await step(
  'publish the draft with a flush: the news list moves, tech and article 1 stay cached',
  async () => {
    const em = orm.em.fork()
    const draft = await em.findOneOrFail(Article, 2)
    draft.published = true
    await em.flush()
    await show()
  },
)
await step('move article 1 to tech with nativeUpdate: both lists and article 1 miss', async () => {
  await orm.em.fork().nativeUpdate(Article, 1, { category: 'tech', title: 'Caching, explained (2nd ed.)' })
  await show()
})
await step('a rolled-back transaction bumps nothing: all hits', async () => {
  await orm.em
    .fork()
    .transactional(async (em) => {
      em.assign(await em.findOneOrFail(Article, 3), { published: false })
      await em.flush()
      throw new Error('rolled back')
    })
    .catch(() => {})
  await show()
})

const counted = async () => {
  const before = queries
  const rows = await withAuthors()
  console.log(`   ${JSON.stringify(rows)} (${queries - before ? 'from the database' : 'from the cache'})`)
}
await step("MikroORM's result cache (cache: true): a miss, then a hit", async () => {
  await counted()
  await counted()
})
await step('rename an author: the cached query read the users table, so it reloads', async () => {
  await orm.em.fork().nativeUpdate(User, 2, { name: 'Brian K.' })
  await counted()
})

const a1 = await orm.em.fork().findOneOrFail(Article, 1)
console.log(`fk.keyFor(article 1) = ${await fk.keyFor(a1, 'page', 1)}`)
console.log('totals:', fk.stats())
handle.dispose()
await orm.close()
await fk.close()
await store.close()
