// A small blog on MikroORM with @freshkey/mikro-orm: libsql in memory and an in-memory store by
// default, PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set. Nothing below declares a
// dependency: each cached value depends on what its queries read.
// Run: pnpm --filter @freshkey/example-mikro-orm demo
import { subscribe } from 'node:diagnostics_channel'
import { channels, createFreshkey, memoryStore, type Store } from '@freshkey/core'
import { freshkeyCacheAdapter, freshkeyMikroORM, rehydrate } from '@freshkey/mikro-orm'
import { wrap } from '@mikro-orm/core'
import { MikroORM as LibSqlORM } from '@mikro-orm/libsql'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import { Article, entities, User } from './schema.ts'

const store: Store = process.env.REDIS_URL
  ? ((await import('@freshkey/redis')).redisStore(process.env.REDIS_URL) as unknown as Store)
  : memoryStore()
const fk = createFreshkey({ store, namespace: 'example-mikro-orm' })
const resultCache = { adapter: freshkeyCacheAdapter(fk) }
// The query log counts selects, to show whether a result came from the database.
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
await handle.verify()
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
await fk.idle()

// A list per category: its rows and its filter are its dependencies.
const published = (category: string) =>
  fk.wrap(`articles:${category}`, async () =>
    (await orm.em.fork().find(Article, { published: true, category }, { orderBy: { id: 'asc' } })).map(
      (a) => a.title,
    ),
  )
// One article's title: its row.
const articleTitle = fk.cached(async (id: number) => (await orm.em.fork().findOneOrFail(Article, id)).title, {
  name: 'articleTitle',
})
// MikroORM's own result cache: the articles it returned, their authors, and its filter.
const withAuthors = async () =>
  (
    await orm.em
      .fork()
      .find(Article, { published: true }, { cache: true, populate: ['author'], orderBy: { id: 'asc' } })
  ).map((a) => `${a.title} (${a.author.name})`)

let invalidations = 0
subscribe(channels.invalidate, () => invalidations++)
const counters = () => ({ ...fk.stats(), invalidations })
let last = counters()
async function step(title: string, run: () => Promise<void>) {
  console.log(`── ${title}`)
  await run()
  // Let background work (the lift of a commit's fence) finish, so each step's counts are its own.
  await fk.idle()
  const now = counters()
  const delta = (k: 'hits' | 'misses' | 'invalidations') => `${k} +${now[k] - last[k]}`
  console.log(`   ${['hits', 'misses', 'invalidations'].map((k) => delta(k as never)).join(', ')}\n`)
  last = now
}
const show = async () => {
  const [news, tech, first] = await Promise.all([published('news'), published('tech'), articleTitle(1)])
  console.log(`   lists: news ${JSON.stringify(news)}, tech ${JSON.stringify(tech)}; article 1: ${first}`)
}
const write = async (fn: () => Promise<unknown>) => {
  await fn()
  await fk.idle()
}

await step('first reads: everything misses and is cached', show)
await step('same reads: all hits', show)
await step(
  'publish the draft with a flush: the news list misses (a row entered it), tech and article 1 hit',
  async () => {
    await write(async () => {
      const em = orm.em.fork()
      ;(await em.findOneOrFail(Article, 2)).published = true
      await em.flush()
    })
    await show()
  },
)
await step('retitle article 3: the tech list misses (a member changed), news and article 1 hit', async () => {
  await write(() => orm.em.fork().nativeUpdate(Article, 3, { title: 'Redis tips, revised' }))
  await show()
})
await step('move article 1 to tech with nativeUpdate: both lists and article 1 miss', async () => {
  await write(() =>
    orm.em.fork().nativeUpdate(Article, 1, { category: 'tech', title: 'Caching, explained (2nd ed.)' }),
  )
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
await step(
  'rename an author of a listed article: the cached query read that row, so it reloads',
  async () => {
    await write(() => orm.em.fork().nativeUpdate(User, 2, { name: 'Brian K.' }))
    await counted()
  },
)
await step('a new user nobody listed: still a hit', async () => {
  await write(() => orm.em.fork().insert(User, { id: 3, name: 'Cleo' }))
  await counted()
})

// fk.wrap returns plain data; rehydrate() makes managed, clean entities of it.
const plain = await fk.wrap('articles:tech:rows', async () =>
  (await orm.em.fork().find(Article, { category: 'tech' }, { orderBy: { id: 'asc' } })).map((a) =>
    wrap(a).toObject(),
  ),
)
const em = orm.em.fork()
const rehydrated = rehydrate(em, Article, plain as never[])
console.log(`rehydrated: ${rehydrated.map((a) => `${a.constructor.name} #${a.id}`).join(', ')}`)
console.log(`fk.keyFor(article 1) = ${await fk.keyFor(rehydrated.find((a) => a.id === 1)!, 'page', 1)}`)
console.log('totals:', fk.stats())
handle.dispose()
await orm.close()
await fk.close()
await store.close()
