// A tiny blog over an in-memory "database": what freshkey does without any ORM.
// Embedded defaults (memoryStore); set REDIS_URL to run the same demo on Redis.
import { type Change, createFreshkey, dep, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'

interface Article {
  id: number
  title: string
  published: boolean
  category: string
}

const store: Store = process.env.REDIS_URL ? redisStore(process.env.REDIS_URL) : memoryStore()
const fk = createFreshkey({ store, namespace: 'demo-blog', version: '1' })
fk.defineScope('articles', ['published', 'category'])

const db = new Map<number, Article>([
  [1, { id: 1, title: 'Hello', published: true, category: 'news' }],
  [2, { id: 2, title: 'Draft', published: false, category: 'news' }],
  [3, { id: 3, title: 'Recipes', published: true, category: 'food' }],
])
let queries = 0

// What an ORM adapter does for you: record each write, bump after the commit.
async function updateArticle(id: number, patch: Partial<Article>): Promise<void> {
  const before = db.get(id)!
  const after = { ...before, ...patch }
  const tx = fk.transaction()
  db.set(id, after)
  const change: Change = {
    table: 'articles',
    kind: 'update',
    pk: id,
    before,
    after,
    changed: Object.keys(patch),
  }
  tx.record(change)
  await tx.commit()
}

// Without an ORM adapter nothing tracks what a loader read, so dependencies are declared: the
// list holds ids only (a scope follows rows entering and leaving it, not their other columns);
// each article is cached on its own row.
const publishedIn = (category: string) =>
  fk.wrap(
    ['articles:published-ids', category],
    () => {
      queries++
      return [...db.values()].filter((a) => a.published && a.category === category).map((a) => a.id)
    },
    { deps: dep.scope('articles', { published: true, category }) },
  )

const getArticle = fk.cached(
  async (id: number) => {
    queries++
    return db.get(id)
  },
  { name: 'article', deps: (id) => [dep.row('articles', id)] },
)

function show(label: string, value: unknown): void {
  const s = fk.stats()
  console.log(
    `${label.padEnd(44)} ${JSON.stringify(value).padEnd(28)} hits=${s.hits} misses=${s.misses} invalidations=${s.invalidations} db queries=${queries}`,
  )
}

console.log(`freshkey demo on ${process.env.REDIS_URL ? 'Redis' : 'memoryStore()'}\n`)
show('news list (cold: miss, loads)', await publishedIn('news'))
show('news list again (hit)', await publishedIn('news'))
show('food list (miss)', await publishedIn('food'))
show('article 3 (miss)', (await getArticle(3))?.title)
show('article 3 again (hit)', (await getArticle(3))?.title)

await updateArticle(2, { title: 'Draft v2' })
show('draft retitled: lists untouched (hit)', await publishedIn('news'))

await updateArticle(3, { category: 'news' })
show('article 3 moved food → news: news misses', await publishedIn('news'))
show('… and food misses too', await publishedIn('food'))
show('article 3 row changed (miss)', (await getArticle(3))?.category)

await fk.invalidate(dep.table('articles'))
show('after raw SQL: invalidate the table', await publishedIn('news'))

const key = await fk.keyFor(dep.row('articles', 1), 'html', { lang: 'en' })
console.log(`\nkeyFor(articles#1, 'html', { lang: 'en' }) = ${key}`)
await fk.close()
await store.close()
