// A small blog on TypeORM with @freshkey/typeorm: sql.js and an in-memory store by default,
// PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set. Run: pnpm --filter @freshkey/example-typeorm demo
// No dependency is declared anywhere: every cached read depends on exactly what its queries read.
import { subscribe } from 'node:diagnostics_channel'
import { channels, createFreshkey, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { freshkeyQueryResultCache, freshkeyTypeORM, rehydrate } from '@freshkey/typeorm'
import { DataSource, type DataSourceOptions } from 'typeorm'
import { Article, entities, User } from './schema.ts'

const store = process.env.REDIS_URL ? redisStore(process.env.REDIS_URL) : memoryStore()
const fk = createFreshkey({ store, namespace: 'example-typeorm' })
const cache = { provider: freshkeyQueryResultCache(fk) }
const options: DataSourceOptions = process.env.DATABASE_URL
  ? { type: 'postgres', url: process.env.DATABASE_URL, entities, synchronize: true, cache }
  : { type: 'sqljs', entities, synchronize: true, cache }
const ds = new DataSource(options)
const binding = freshkeyTypeORM(ds, fk) // before or after initialize()
await ds.initialize()
await binding.verify()
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

// One article with its author: depends on that row and the author's row.
const article = fk.cached(
  async (id: number) => {
    const a = await articles.findOneOrFail({ where: { id }, relations: { author: true } })
    return `${a.title} (${a.author?.name})`
  },
  { name: 'article' },
)
// A list: depends on its rows and on its filter (a row entering it misses too).
const published = async (category: string) =>
  rehydrate(
    articles,
    await fk.wrap(`articles:published:${category}`, () =>
      articles.find({ where: { published: true, category }, order: { id: 'ASC' } }),
    ),
  ).map((a) => a.title)

let invalidations = 0
subscribe(channels.invalidate, () => invalidations++)
const counters = () => ({ hits: fk.stats().hits, misses: fk.stats().misses, invalidations })
let last = counters()
/** Runs one step of the story and prints what it cost the cache. */
async function step(title: string, run: () => Promise<void>) {
  console.log(`── ${title}`)
  await run()
  const now = counters()
  const delta = (Object.keys(now) as (keyof typeof now)[]).map((k) => `${k} +${now[k] - last[k]}`)
  console.log(`   ${delta.join(', ')}\n`)
  last = now
}
const show = async () => {
  // A commit's fence is lifted in the background; a read that still sees it is served, not stored.
  await fk.idle()
  for (const category of ['news', 'tech'])
    console.log(`   ${category}: ${JSON.stringify(await published(category))}`)
  console.log(`   article 1: ${await article(1)}`)
}

await step('first reads: everything misses and is cached', show)
await step('same reads: all hits', show)
await step(
  'publish the draft with save(): it enters the news list; tech and article 1 stay cached',
  async () => {
    const draft = await articles.findOneByOrFail({ id: 2 })
    draft.published = true
    await articles.save(draft)
    await show()
  },
)
await step('retitle a tech article: only the tech list misses', async () => {
  await articles.update(3, { title: 'Redis tips, revised' })
  await show()
})
await step('rename Ada: article 1 (it joined her row) misses, the lists stay cached', async () => {
  await users.update(1, { name: 'Ada L.' })
  await show()
})
await step('move article 1 to tech with repository.update(): both lists and article 1 miss', async () => {
  await articles.update(1, { category: 'tech' })
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
await step("TypeORM's own cache: count({ cache }) misses only when a row enters or leaves it", async () => {
  let queries = 0
  ds.subscribers.push({ beforeQuery: (e) => void (/^\s*SELECT/i.test(e.query) && queries++) })
  const count = async (after: string) => {
    await fk.idle()
    const before = queries
    const n = await articles.count({ where: { published: true }, cache: 60_000 })
    console.log(`   published: ${n} ${after} (${queries - before} SQL queries)`)
  }
  await count('first time')
  await count('again')
  await articles.update(3, { title: 'Redis tips, 3rd ed.' }) // a field the count does not read
  await count('after a retitle')
  await articles.update(3, { published: false })
  await count('after an unpublish')
})

binding.dispose()
await ds.destroy()
await fk.close()
await store.close()
