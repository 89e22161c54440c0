// Single-row update transactions per second on PostgreSQL through MikroORM 7.2, without and with
// @freshkey/mikro-orm publishing to Redis, in one run (alternating rounds, same database, two ORMs
// with the same pool). Needs REDIS_URL and DATABASE_URL (allowed to CREATE DATABASE).
import { createFreshkey } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { MikroORM } from '@mikro-orm/postgresql'
import { Redis } from 'ioredis'
import { freshkeyMikroORM } from '../../packages/mikro-orm/src/index.ts'
import { BenchArticle, openBenchDatabase } from '../../packages/mikro-orm/test/support/bench-fixture.ts'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'

if (!process.env.DATABASE_URL) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}
const redis = new Redis(redisUrl())
const fk = createFreshkey({ store: redisStore(redis), namespace: `bench-mikro-orm-${process.pid}` })
const db = await openBenchDatabase(4)
const errors: unknown[] = []
const handle = freshkeyMikroORM(db.watched, fk, { onError: (e) => errors.push(e) })

let n = 0
const cases: [string, (orm: MikroORM) => () => Promise<unknown>][] = [
  [
    'em.transactional(em => em.nativeUpdate(id))',
    (orm) => () =>
      orm.em.fork().transactional((em) => em.nativeUpdate(BenchArticle, 1, { title: `t${n++}` })),
  ],
  [
    'flush of a loaded entity (implicit transaction)',
    (orm) => async () => {
      const em = orm.em.fork()
      const a = await em.findOneOrFail(BenchArticle, 1)
      a.title = `t${n++}`
      await em.flush()
    },
  ],
  [
    'em.nativeUpdate(id) (autocommit)',
    (orm) => () => orm.em.fork().nativeUpdate(BenchArticle, 1, { title: `t${n++}` }),
  ],
  // Moves the row between two scopes: freshkey reads (and locks) the before image in the same transaction.
  [
    'flush of a scoped field (before image)',
    (orm) => async () => {
      const em = orm.em.fork()
      const a = await em.findOneOrFail(BenchArticle, 2)
      a.category = n++ % 2 ? 'tech' : 'news'
      await em.flush()
    },
  ],
]

// Throughput with several transactions in flight: the bump's round trip overlaps other work.
const parallel = 8
cases.push([
  `${parallel} transactions in flight (per transaction)`,
  (orm) => () =>
    Promise.all(
      Array.from({ length: parallel }, (_, i) =>
        orm.em.fork().transactional((em) => em.nativeUpdate(BenchArticle, 1 + (i % 2), { title: `t${n++}` })),
      ),
    ),
])

const rows: string[][] = []
for (const [name, op] of cases) {
  const r = await compare({ mikroOrm: op(db.plain), freshkey: op(db.watched) }, { rounds: 15, roundMs: 300 })
  // One call of the parallel case is `parallel` transactions; its p50 is the whole batch.
  const per = name.includes('in flight') ? parallel : 1
  rows.push([
    name,
    fmtOps(r.mikroOrm.opsPerSec * per),
    fmtOps(r.freshkey.opsPerSec * per),
    ratio(r.freshkey, r.mikroOrm),
    fmtUs(r.mikroOrm.p50),
    fmtUs(r.freshkey.p50),
    `${(r.mikroOrm.clientCpuUs / per).toFixed(0)} / ${(r.freshkey.clientCpuUs / per).toFixed(0)}`,
  ])
}
console.log(
  table(
    [
      'single-row update',
      'MikroORM tx/s',
      'MikroORM + freshkey tx/s',
      'ratio',
      'p50 µs',
      'p50 µs + freshkey',
      'client CPU µs/tx (MikroORM / + freshkey)',
    ],
    rows,
  ),
)
console.log(
  `\n${await environment(redis)}; PostgreSQL via MikroORM 7.2.1 (pool 4), one operation in flight unless stated`,
)
if (errors.length > 0) console.log(`capture errors: ${errors.length}`)
handle.dispose()
await db.close()
await fk.close()
redis.disconnect()
