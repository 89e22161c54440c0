// A read-heavy blog through Prisma 7 on PostgreSQL (95 % reads, 5 % writes, 16 in flight, 20,000
// articles), in one run: no cache; freshkey's native cache `prisma.article.cached()` with automatic
// dependencies (after); and the same reads cached by the tables they read (before: what `.cached()`
// did until now). Counts hit ratio, throughput and stale reads (a read that started after a write
// returned yet saw an older title). Needs REDIS_URL and DATABASE_URL; starts no server.
//   node bench/prisma-commit/reads.ts [--seconds 8] [--rounds 2]
import { loadavg, uptime } from 'node:os'
import { createFreshkey, dep, type Freshkey } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { freshkeyPrisma } from '../../packages/prisma/src/index.ts'
import { openDatabase } from '../../packages/prisma/test/support/clients.ts'
import { environment, fmtOps, redisUrl, table } from '../lib/measure.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const SECONDS = arg('seconds', 8)
const ROUNDS = arg('rounds', 2)
const ARTICLES = 20_000
const CATEGORIES = 40
const IN_FLIGHT = 16
const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('DATABASE_URL is not set')
  process.exit(1)
}
const redis = new Redis(redisUrl())
const db = await openDatabase('postgres', databaseUrl, { poolSize: 8 })
const base = db.base
await base.user.createMany({
  data: Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `u${i + 1}` })),
})
for (let from = 0; from < ARTICLES; from += 2000)
  await base.article.createMany({
    data: Array.from({ length: 2000 }, (_, i) => {
      const id = from + i + 1
      return {
        id,
        title: 'v0',
        published: id % 10 !== 0,
        category: `c${id % CATEGORIES}`,
        authorId: (id % 200) + 1,
      }
    }),
  })

type Reader = {
  byId(id: number): Promise<{ title: string; author: { name: string } } | null>
  list(category: string): Promise<{ id: number; title: string }[]>
  count(category: string): Promise<number>
}
const byIdArgs = (id: number) => ({ where: { id }, include: { author: true } })
const listArgs = (category: string) => ({
  where: { category, published: true },
  select: { id: true, title: true },
  orderBy: { id: 'desc' as const },
  take: 20,
})
const countArgs = (category: string) => ({ where: { category, published: true } })

const contenders: Record<string, () => { fk?: Freshkey; reader: Reader; writer: typeof base }> = {
  'no cache': () => ({
    reader: {
      byId: (id) => base.article.findUnique(byIdArgs(id)),
      list: (c) => base.article.findMany(listArgs(c)),
      count: (c) => base.article.count(countArgs(c)),
    },
    writer: base,
  }),
  'table dependencies (before)': () => {
    const fk = createFreshkey({ store: redisStore(redis), namespace: `bench-reads-before-${process.pid}` })
    const prisma = base.$extends(freshkeyPrisma(fk, { metadata: db.metadata }))
    // The old `.cached()`: keyed by the arguments, depending on every table the arguments read.
    const articles = dep.table('blog_articles')
    const users = dep.table('app_users')
    const cached = <T>(name: string, deps: unknown[], load: () => Promise<T>) =>
      fk.wrap([`before:${name}`], load, { deps, ttl: 300 }) as Promise<T>
    return {
      fk,
      reader: {
        byId: (id) => cached(`id:${id}`, [articles, users], () => base.article.findUnique(byIdArgs(id))),
        list: (c) => cached(`list:${c}`, [articles], () => base.article.findMany(listArgs(c))),
        count: (c) => cached(`count:${c}`, [articles], () => base.article.count(countArgs(c))),
      },
      writer: prisma as unknown as typeof base,
    }
  },
  'native cached() (after)': () => {
    const fk = createFreshkey({ store: redisStore(redis), namespace: `bench-reads-after-${process.pid}` })
    const prisma = base.$extends(freshkeyPrisma(fk, { metadata: db.metadata }))
    return {
      fk,
      reader: {
        byId: (id) => prisma.article.cached({ ttl: 300 }).findUnique(byIdArgs(id)),
        list: (c) => prisma.article.cached({ ttl: 300 }).findMany(listArgs(c)),
        count: (c) => prisma.article.cached({ ttl: 300 }).count(countArgs(c)),
      },
      writer: prisma as unknown as typeof base,
    }
  },
}

// Hot set: most traffic on a few thousand articles and a few categories, as on a real site.
const hotId = () =>
  Math.random() < 0.8 ? 1 + Math.floor(Math.random() * 2000) : 1 + Math.floor(Math.random() * ARTICLES)
const hotCategory = () => `c${Math.floor(Math.random() ** 2 * CATEGORIES)}`

async function run(name: string) {
  const { fk, reader, writer } = contenders[name]!()
  const committed = new Map<number, number>()
  let version = 0
  let ops = 0
  let stale = 0
  const version0 = (t: string) => Number(t.slice(1))
  const stop = Date.now() + SECONDS * 1000
  const worker = async () => {
    while (Date.now() < stop) {
      const r = Math.random()
      if (r < 0.05) {
        const id = hotId()
        const v = ++version
        await writer.article.update({ where: { id }, data: { title: `v${v}` } })
        if (v > (committed.get(id) ?? 0)) committed.set(id, v)
      } else if (r < 0.55) {
        const id = hotId()
        const floor = committed.get(id) ?? 0
        const row = await reader.byId(id)
        if (row && version0(row.title) < floor) stale++
      } else if (r < 0.9) {
        const floors = new Map(committed)
        for (const a of await reader.list(hotCategory()))
          if (version0(a.title) < (floors.get(a.id) ?? 0)) stale++
      } else await reader.count(hotCategory())
      ops++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  const seconds = (performance.now() - started) / 1000
  const s = fk?.stats()
  await fk?.close()
  return {
    opsPerSec: ops / seconds,
    stale,
    hitRatio: s ? s.hits / Math.max(1, s.hits + s.misses) : undefined,
    refused: s ? `${s.fills} / ${s.fillsRefused} / ${s.loads - s.fills - s.fillsRefused}` : '—',
  }
}

const results = new Map<string, { opsPerSec: number[]; stale: number; hit: number[]; refused: string[] }>()
for (let round = 0; round < ROUNDS; round++)
  for (const name of round % 2 ? Object.keys(contenders).reverse() : Object.keys(contenders)) {
    const r = await run(name)
    const acc = results.get(name) ?? { opsPerSec: [], stale: 0, hit: [], refused: [] }
    acc.refused.push(r.refused)
    acc.opsPerSec.push(r.opsPerSec)
    acc.stale += r.stale
    if (r.hitRatio !== undefined) acc.hit.push(r.hitRatio)
    results.set(name, acc)
  }
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const baseline = mean(results.get('no cache')!.opsPerSec)
console.log(
  table(
    [
      'contender',
      'ops/s',
      'vs no cache',
      'hit ratio',
      'stale reads',
      'fills / refused / not stored, per round',
    ],
    [...results].map(([name, r]) => [
      name,
      fmtOps(mean(r.opsPerSec)),
      `${(mean(r.opsPerSec) / baseline).toFixed(2)}×`,
      r.hit.length ? `${(mean(r.hit) * 100).toFixed(1)} %` : '—',
      String(r.stale),
      r.refused.join('; '),
    ]),
  ),
)
console.log(
  `\n${await environment(redis)}; ${ARTICLES} articles, ${CATEGORIES} categories, 95 % reads (50 % by id with author, 35 % a ` +
    `category page of 20, 10 % a count) / 5 % title updates, ${IN_FLIGHT} in flight, ${ROUNDS} × ${SECONDS} s per contender; ` +
    `uptime ${(uptime() / 3600).toFixed(1)} h, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
await db.close()
redis.disconnect()
