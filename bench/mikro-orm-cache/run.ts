// MikroORM's own result cache on freshkey, on a read-heavy blog: 95 % reads (article lists by
// category, articles by id), 5 % writes (title edits, category moves), 16 operations in flight,
// 20,000 articles on PostgreSQL. Three contenders in alternating rounds of one run, each on its own
// database: no cache; the native cache with table dependencies (what every write to the table
// invalidated before: "before"); the native cache with the rows and filters its queries read
// ("after"). Stale reads are counted (a title older than one a finished write returned).
// Needs DATABASE_URL (allowed to CREATE DATABASE); REDIS_URL, or the memory store (see benchStore).
import { loadavg } from 'node:os'
import {
  CachedArticle as Article,
  type CacheBenchDatabase as Contender,
  openCacheBenchDatabase,
} from '../../packages/mikro-orm/test/support/bench-fixture.ts'
import { fmtOps, table } from '../lib/measure.ts'
import { benchStore } from '../lib/mikro-orm-store.ts'

if (!process.env.DATABASE_URL) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}

const ARTICLES = 20_000
const CATEGORIES = 50
const HOT = 1_000
const IN_FLIGHT = 16
const open = async (name: string, mode: 'none' | 'before' | 'after') =>
  openCacheBenchDatabase(name, mode, mode === 'none' ? undefined : (await benchStore()).store, {
    articles: ARTICLES,
    categories: CATEGORIES,
    pool: IN_FLIGHT,
  })
const ROUNDS = Number(process.env.FK_BENCH_ROUNDS ?? 8)
const ROUND_MS = Number(process.env.FK_BENCH_ROUND_MS ?? 2_000)

let seed = 12345
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
const pick = (n: number) => 1 + Math.floor(random() * n)
const version = (title: string) => Number(title.slice(1))

/** The newest version of an article a write had returned before operation `at` started. */
function newestBefore(c: Contender, id: number, at: number): number {
  let v = 0
  for (const [when, version] of c.returned.get(id) ?? []) if (when < at && version > v) v = version
  return v
}

/** One operation of the workload: 50 % lists, 45 % articles by id, 4 % title edits, 1 % category moves. */
async function operation(c: Contender, next: Int32Array): Promise<void> {
  const em = c.orm.em.fork()
  const at = ++c.seq
  const r = random()
  const wrote = (id: number, v: number) => {
    const list = c.returned.get(id) ?? []
    list.push([c.seq, v])
    c.returned.set(id, list)
  }
  if (r < 0.5) {
    const category = `c${pick(CATEGORIES) - 1}`
    const list = await em.find(
      Article,
      { category, published: true },
      { cache: c.cache, orderBy: { id: 'desc' }, limit: 20 },
    )
    for (const a of list) if (version(a.title) < newestBefore(c, a.id, at)) c.stale++
  } else if (r < 0.95) {
    const id = pick(HOT)
    const a = await em.findOne(Article, id, { cache: c.cache })
    if (a && version(a.title) < newestBefore(c, id, at)) c.stale++
  } else if (r < 0.99) {
    const id = pick(ARTICLES)
    const v = ++next[id]!
    await em.nativeUpdate(Article, id, { title: `v${v}` })
    wrote(id, v)
  } else {
    const id = pick(ARTICLES)
    const v = ++next[id]!
    const a = await em.findOneOrFail(Article, id)
    a.category = `c${pick(CATEGORIES) - 1}`
    a.title = `v${v}`
    await em.flush()
    wrote(id, v)
  }
}

async function round(c: Contender, next: Int32Array, ms: number): Promise<number> {
  const end = performance.now() + ms
  let ops = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        await operation(c, next)
        ops++
      }
    }),
  )
  return ops / (ms / 1000)
}

const { redis, storeNote } = await benchStore()
const contenders = [
  await open('no cache', 'none'),
  await open('native cache, table dependencies (before)', 'before'),
  await open('native cache, rows and filters (after)', 'after'),
]
const versions = new Map(contenders.map((c) => [c, new Int32Array(ARTICLES + 1)]))
// Warm-up: every key read once (a cache starts cold once, not every round), then a short run.
for (const c of contenders) {
  for (let i = 0; i < CATEGORIES; i++)
    await c.orm.em
      .fork()
      .find(
        Article,
        { category: `c${i}`, published: true },
        { cache: c.cache, orderBy: { id: 'desc' }, limit: 20 },
      )
  for (let id = 1; id <= HOT; id++) await c.orm.em.fork().findOne(Article, id, { cache: c.cache })
  await round(c, versions.get(c)!, 2_000)
}
const stats0 = new Map(contenders.map((c) => [c, c.fk?.stats()]))
const perRound = new Map(contenders.map((c) => [c, [] as number[]]))
for (let r = 0; r < ROUNDS; r++) {
  for (const c of r % 2 === 0 ? contenders : [...contenders].reverse())
    perRound.get(c)!.push(await round(c, versions.get(c)!, ROUND_MS))
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const base = perRound.get(contenders[0]!)!
const rows = contenders.map((c) => {
  const s0 = stats0.get(c)
  const s = c.fk?.stats()
  const hits = s && s0 ? s.hits - s0.hits : 0
  const misses = s && s0 ? s.misses - s0.misses : 0
  return [
    c.name,
    fmtOps(median(perRound.get(c)!)),
    median(perRound.get(c)!.map((x, i) => x / base[i]!)).toFixed(2),
    c.fk ? `${((100 * hits) / Math.max(1, hits + misses)).toFixed(1)} %` : '',
    s && s0 ? `${s.fillsRefused - s0.fillsRefused} / ${misses}` : '',
    String(c.stale),
  ]
})
console.log(
  table(
    [
      '95/5 workload, 16 in flight',
      'ops/s',
      'ratio vs no cache',
      'hit ratio',
      'fills refused / misses',
      'stale reads',
    ],
    rows,
  ),
)
console.log(
  `\n${redis ? 'Redis' : storeNote}; PostgreSQL via MikroORM 7.2.1 (pool ${IN_FLIGHT} each), ${ARTICLES} articles in ${CATEGORIES} categories, ` +
    `${ROUNDS} rounds of ${ROUND_MS} ms; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
for (const c of contenders) await c.drop()
redis?.disconnect()
process.exit(0) // the stores of every contender hold subscriber connections
