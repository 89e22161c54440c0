// A small blog on TypeORM with @freshkey/typeorm: sql.js and an in-memory store by default,
// PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set. Run: pnpm --filter @freshkey/example-typeorm demo
import { subscribe } from 'node:diagnostics_channel'
import { channels, createFreshkey, dep, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { freshkeyQueryResultCache, freshkeyTypeORM } from '@freshkey/typeorm'
import { DataSource, type DataSourceOptions } from 'typeorm'
import { Article, entities, User } from './schema.ts'

const store = process.env.REDIS_URL ? redisStore(process.env.REDIS_URL) : memoryStore()
const fk = createFreshkey({ store, namespace: 'example-typeorm' })
const cache = { provider: freshkeyQueryResultCache(fk) }
const options: DataSourceOptions = process.env.DATABASE_URL
  ? { type: 'postgres', url: process.env.DATABASE_URL, entities, synchronize: true, cache }
  : { type: 'sqljs', entities, synchronize: true, cache }
const ds = new DataSource(options)
const handle = freshkeyTypeORM(ds, fk) // before or after initialize()
await ds.initialize()
await handle.verify()
console.log(`database: ${options.type}, store: ${process.env.REDIS_URL ? 'redis' : 'memory'}\n`)

const users = ds.getRepository(User)
const articles = ds.getRepository(Article)
await ds.transaction(async (em) => {
  await em.deleteAll(Article)
  await em.deleteAll(User)
  await em.save(User, [
    { id: 1, name: 'Ada' },
    { id: 2, name: 'Brian' },
  ])
  await em.save(Article, [
    { id: 1, title: 'Caching, explained', published: true, category: 'news', authorId: 1 },
    { id: 2, title: 'Draft: tokens', published: false, category: 'news', authorId: 1 },
    { id: 3, title: 'Redis tips', published: true, category: 'tech', authorId: 2 },
  ])
})

// One article: its own row. A list: the scope of published articles in a category.
const articleTitle = fk.cached(async (id: number) => (await articles.findOneByOrFail({ id })).title, {
  name: 'articleTitle',
  deps: (id) => [dep.row('example_articles', id)],
})
const published = (category: string) =>
  fk.wrap([dep.scope(Article, { published: true, category })], async () =>
    (await articles.find({ where: { published: true, category }, order: { id: 'ASC' } })).map((a) => a.title),
  )

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
await step('publish the draft with save(): the news list and article 2 move, tech stays cached', async () => {
  const draft = await articles.findOneByOrFail({ id: 2 })
  draft.published = true
  await articles.save(draft)
  await show()
})
await step('move article 1 to tech with repository.update(): both lists and article 1 miss', async () => {
  await articles.update(1, { category: 'tech', title: 'Caching, explained (2nd ed.)' })
  await show()
})
await step('a rolled-back transaction bumps nothing: all hits', async () => {
  await ds
    .transaction(async (em) => {
      await em.update(Article, 3, { published: false })
      throw new Error('cancelled')
    })
    .catch(() => {})
  await show()
})
await step("TypeORM's own cache: find({ cache: true }) is invalidated by a write to its table", async () => {
  let queries = 0
  ds.subscribers.push({ beforeQuery: (e) => void (/^\s*SELECT/i.test(e.query) && queries++) })
  const count = async (after: string) => {
    const before = queries
    const n = await articles.count({ where: { published: true }, cache: 60_000 })
    console.log(`   published: ${n} ${after} (${queries - before} SQL queries)`)
  }
  await count('first time')
  await count('again')
  await users.update(2, { name: 'Brian K.' }) // another table: the cached count stays
  await count('after a write to example_users')
  await articles.update(3, { published: false })
  await count('after a write to example_articles')
})

handle.dispose()
await ds.destroy()
await fk.close()
await store.close()
