// @freshkey/typeorm against plain TypeORM on PostgreSQL, in one run: (1) commit cost of single-row
// writes (fenced in parallel with COMMIT, issue 13; a scoped update against an unscoped one,
// issue 11), (2) the native query result cache on a 95/5 read/write blog (issue 11). Alternating
// rounds, same database. Needs REDIS_URL and DATABASE_URL (allowed to CREATE DATABASE).
// `node bench/typeorm-commit/run.ts [commit] [cache]`.
import { createFreshkey, type Freshkey } from '@freshkey/core'
import { Redis } from 'ioredis'
import type { DataSource } from 'typeorm'
import { freshkeyTypeORM } from '../../packages/typeorm/src/index.ts'
import { BenchArticle, openBenchDatabase } from '../../packages/typeorm/test/support/bench-fixture.ts'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'
import { nativeCacheBench } from './cache.ts'
import { benchStore, uptime } from './store.ts'

if (!process.env.DATABASE_URL) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}
const only = process.argv.slice(2)
const redis = new Redis(redisUrl())
const { store, label } = await benchStore(redis)
console.log(`store: ${label}\n${uptime()}\n`)
const fk: Freshkey = createFreshkey({ store, namespace: `bench-typeorm-${process.pid}`, logger: false })

if (only.length === 0 || only.includes('commit')) await commitBench()
if (only.length === 0 || only.includes('cache')) await nativeCacheBench(redis, store)
console.log(`\n${await environment(redis)}; PostgreSQL via pg\n${uptime()}`)
await fk.close()
redis.disconnect()

async function commitBench(): Promise<void> {
  const db = await openBenchDatabase(4)
  const binding = freshkeyTypeORM(db.watched, fk)
  await binding.verify()
  // A cached list filtered on the scoped fields, so the store knows their scheme like a live app.
  await fk.wrap('bench:list', () =>
    db.watched.getRepository(BenchArticle).findBy({ published: true, category: 'tech' }),
  )
  let n = 0
  const cases: [string, (ds: DataSource) => () => Promise<unknown>][] = [
    [
      'transaction(em => em.update(id))',
      (ds) => () => ds.transaction((em) => em.update(BenchArticle, 1, { title: `t${n++}` })),
    ],
    [
      'save() of a loaded entity (implicit transaction)',
      (ds) => async () => {
        const repo = ds.getRepository(BenchArticle)
        const a = await repo.findOneByOrFail({ id: 1 })
        a.title = `t${n++}`
        await repo.save(a)
      },
    ],
    [
      'repository.update(id) (autocommit)',
      (ds) => () => ds.getRepository(BenchArticle).update(1, { title: `t${n++}` }),
    ],
    [
      'update(id) of an unscoped field',
      (ds) => () => ds.getRepository(BenchArticle).update(2, { title: `t${n++}` }),
    ],
    [
      'update(id) of a scoped field (no before image)',
      (ds) => () => ds.getRepository(BenchArticle).update(2, { category: n++ % 2 ? 'tech' : 'news' }),
    ],
  ]
  const parallel = 8
  const title = () => ({ title: `t${n++}` })
  const inFlight = (ds: DataSource) => () =>
    Promise.all(
      Array.from({ length: parallel }, (_, i) =>
        ds.transaction((em) => em.update(BenchArticle, 1 + (i % 2), title())),
      ),
    )
  cases.push([`${parallel} transactions in flight (per transaction)`, inFlight])
  const rows: string[][] = []
  for (const [name, op] of cases) {
    const plain = op(db.plain)
    // The least any design that talks to Redis per commit can cost: one PING in parallel with the write.
    const ping = () => Promise.all([plain(), redis.ping()])
    const r = await compare({ typeorm: plain, ping, freshkey: op(db.watched) }, { rounds: 15, roundMs: 300 })
    const per = name.includes('in flight') ? parallel : 1
    const both = [r.typeorm, r.freshkey]
    const cpu = both.map((x) => (x.clientCpuUs / per).toFixed(0)).join(' / ')
    rows.push([
      name,
      ...both.map((x) => fmtOps(x.opsPerSec * per)),
      ratio(r.freshkey, r.typeorm),
      ratio(r.ping, r.typeorm),
      ...both.map((x) => fmtUs(x.p50)),
      cpu,
    ])
  }
  console.log(
    table(
      [
        'single-row write, pool 4',
        'TypeORM ops/s',
        '+ freshkey ops/s',
        'ratio',
        'ratio with only a PING in parallel',
        'p50 µs',
        'p50 µs + freshkey',
        'client CPU µs/op (TypeORM / + freshkey)',
      ],
      rows,
    ),
  )
  console.log(`\nadapter errors: ${fk.stats().adapterErrors}`)
  binding.dispose()
  await db.close()
}
