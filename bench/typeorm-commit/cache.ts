// TypeORM's own result cache (`find({ cache })`) on a read-heavy blog: 20,000 articles in 500
// categories, 16 requests in flight, 95 % category lists / 5 % title edits. Contenders: no cache;
// the result cache as it was before issue 11 (every cached query depends on its whole tables);
// `freshkeyQueryResultCache` now (a list depends on its rows and its filter), also with the near cache. Stale reads: a list
// showing a title older than one whose write had returned before the read began.
import { createFreshkey, dep, type Store } from '@freshkey/core'
import type { Redis } from 'ioredis'
import type { DataSource } from 'typeorm'
import type { QueryResultCache } from 'typeorm/cache/QueryResultCache.js'
import type { QueryResultCacheOptions } from 'typeorm/cache/QueryResultCacheOptions.js'
import { freshkeyQueryResultCache, freshkeyTypeORM } from '../../packages/typeorm/src/index.ts'
import { openPostsDatabase, Post } from '../../packages/typeorm/test/support/bench-fixture.ts'
import { fmtOps, table } from '../lib/measure.ts'

const ARTICLES = 20_000
const CATEGORIES = 500
const IN_FLIGHT = 16
const WRITES = 0.05

/** The result cache before issue 11: every cached query depended on the whole tables its SQL names. */
function tableCache(fk: ReturnType<typeof createFreshkey>): (ds: DataSource) => QueryResultCache {
  return () => {
    const SNAP = Symbol('snapshot')
    // The old provider parsed the tables out of the SQL; here there is one.
    const deps = (_sql: string | undefined) => [dep.table('cache_posts')]
    return {
      connect: async () => {},
      disconnect: async () => {},
      synchronize: async () => {},
      clear: async () => {},
      remove: async () => {},
      isExpired: (saved) => SNAP in saved,
      async getFromCache(options) {
        const hit = await fk.get<string>(options.query!)
        if (hit !== undefined) return { ...options, time: Date.now(), result: hit }
        return { ...options, [SNAP]: await fk.snapshot(deps(options.query)) } as QueryResultCacheOptions
      },
      async storeInCache(options, saved, runner) {
        const snapshot = (saved as Record<symbol, never> | undefined)?.[SNAP]
        if (!snapshot || runner?.isTransactionActive) return
        await fk.set(options.query!, options.result, { deps: deps(options.query), ttl: 60, snapshot })
      },
    }
  }
}

type Kind = 'no cache' | 'tables (before)' | 'rows + filters (now)' | 'rows + filters, near cache'

export async function nativeCacheBench(redis: Redis, store: Store): Promise<void> {
  type Contender = {
    ds: DataSource
    fk: ReturnType<typeof createFreshkey>
    ops: number[]
    stale: number
    floor: Int32Array
    drop: () => Promise<void>
  }
  let version = 0
  const contenders = new Map<Kind, Contender>()
  for (const kind of [
    'no cache',
    'tables (before)',
    'rows + filters (now)',
    'rows + filters, near cache',
  ] as Kind[]) {
    // A database each: a write of one contender must not age another's cache behind its back.
    const posts = await openPostsDatabase(ARTICLES, CATEGORIES)
    const fk = createFreshkey({
      store,
      namespace: `bench-cache-${process.pid}-${contenders.size}`,
      logger: false,
      // The opt-in near cache: hits from process memory, dropped by this process's writes at once.
      ...(kind === 'rows + filters, near cache' ? { nearCache: { maxEntries: 50_000 } } : {}),
    })
    const cache =
      kind === 'no cache'
        ? false
        : {
            provider: kind === 'tables (before)' ? tableCache(fk) : freshkeyQueryResultCache(fk),
            duration: 60_000,
          }
    const ds = await posts.open({ cache, extra: { max: IN_FLIGHT } })
    if (cache) freshkeyTypeORM(ds, fk)
    contenders.set(kind, { ds, fk, ops: [], stale: 0, floor: new Int32Array(ARTICLES + 1), drop: posts.drop })
  }
  const op = async (c: Contender) => {
    const floor = c.floor
    const repo = c.ds.getRepository(Post)
    if (Math.random() < WRITES) {
      const id = 1 + Math.floor(Math.random() * ARTICLES)
      const v = ++version
      await repo.update(id, { title: `v${v}` })
      if (floor[id]! < v) floor[id] = v
      return
    }
    const cat = Math.floor(Math.random() * CATEGORIES)
    const atStart = new Map<number, number>()
    for (let id = cat + 1; id <= ARTICLES; id += CATEGORIES) atStart.set(id, floor[id]!)
    const list = await repo.find({ where: { category: `c${cat}` }, order: { id: 'ASC' }, cache: true })
    for (const p of list) if (Number(p.title.slice(1)) < atStart.get(p.id)!) c.stale++
  }
  const round = async (c: Contender, ms: number) => {
    const end = performance.now() + ms
    let done = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < end) {
          // Each request starts from the event loop, as one arriving on a socket would (a near-cache
          // hit does no I/O: without this, hitting workers would starve the others' I/O).
          await new Promise(setImmediate)
          await op(c)
          done++
        }
      }),
    )
    return (done / ms) * 1000
  }
  for (const c of contenders.values()) await round(c, 2000)
  for (const c of contenders.values()) c.stale = 0
  const before = new Map([...contenders].map(([k, c]) => [k, c.fk.stats()]))
  const ROUNDS = 8
  for (let r = 0; r < ROUNDS; r++) {
    const order = [...contenders.values()]
    if (r % 2) order.reverse()
    for (const c of order) c.ops.push(await round(c, 1500))
  }
  const base = contenders.get('no cache')!
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const out: string[][] = []
  for (const [kind, c] of contenders) {
    const s = c.fk.stats()
    const s0 = before.get(kind)!
    const hits = s.hits - s0.hits
    const misses = s.misses - s0.misses
    out.push([
      kind,
      fmtOps(median(c.ops)),
      median(c.ops.map((x, i) => x / base.ops[i]!)).toFixed(2),
      kind === 'no cache' ? '–' : `${((100 * hits) / Math.max(1, hits + misses)).toFixed(1)} %`,
      kind.startsWith('rows') ? `${s.fills - s0.fills} / ${s.fillsRefused - s0.fillsRefused}` : '–',
      String(c.stale),
    ])
  }
  console.log(
    `\n${table(['result cache, 95/5, 16 in flight', 'ops/s', 'vs no cache', 'hit ratio', 'fills / refused', 'stale reads'], out)}`,
  )
  for (const c of contenders.values()) {
    await c.ds.destroy()
    await c.fk.close()
    await c.drop()
  }
  void redis
}
