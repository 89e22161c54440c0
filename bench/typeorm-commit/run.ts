// Single-row update transactions per second on PostgreSQL through TypeORM 1.1, without and with
// @freshkey/typeorm publishing to Redis, in one run (alternating rounds, same database, two data
// sources with the same pool). Needs REDIS_URL and DATABASE_URL (allowed to CREATE DATABASE).
import { createFreshkey } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import type { DataSource } from 'typeorm'
import { freshkeyTypeORM } from '../../packages/typeorm/src/index.ts'
import { BenchArticle, openBenchDatabase } from '../../packages/typeorm/test/support/bench-fixture.ts'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'

if (!process.env.DATABASE_URL) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}
const redis = new Redis(redisUrl())
const fk = createFreshkey({ store: redisStore(redis), namespace: `bench-typeorm-${process.pid}` })
const db = await openBenchDatabase(4)
const handle = freshkeyTypeORM(db.watched, fk)
await handle.verify()

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
  // Moves the row between two scopes: freshkey reads (and locks) the before image in the same transaction.
  [
    'update(id) of a scoped field (before image)',
    (ds) => () => ds.getRepository(BenchArticle).update(2, { category: n++ % 2 ? 'tech' : 'news' }),
  ],
]

// Throughput with several transactions in flight: the bump's round trip overlaps other work.
const parallel = 8
cases.push([
  `${parallel} transactions in flight (per transaction)`,
  (ds) => () =>
    Promise.all(
      Array.from({ length: parallel }, (_, i) =>
        ds.transaction((em) => em.update(BenchArticle, 1 + (i % 2), { title: `t${n++}` })),
      ),
    ),
])

const rows: string[][] = []
for (const [name, op] of cases) {
  const r = await compare({ typeorm: op(db.plain), freshkey: op(db.watched) }, { rounds: 15, roundMs: 300 })
  // One call of the parallel case is `parallel` transactions; its p50 is the whole batch.
  const per = name.includes('in flight') ? parallel : 1
  rows.push([
    name,
    fmtOps(r.typeorm.opsPerSec * per),
    fmtOps(r.freshkey.opsPerSec * per),
    ratio(r.freshkey, r.typeorm),
    fmtUs(r.typeorm.p50),
    fmtUs(r.freshkey.p50),
    `${(r.typeorm.clientCpuUs / per).toFixed(0)} / ${(r.freshkey.clientCpuUs / per).toFixed(0)}`,
  ])
}
console.log(
  table(
    [
      'single-row update',
      'TypeORM tx/s',
      'TypeORM + freshkey tx/s',
      'ratio',
      'p50 µs',
      'p50 µs + freshkey',
      'client CPU µs/tx (TypeORM / + freshkey)',
    ],
    rows,
  ),
)
console.log(
  `\n${await environment(redis)}; PostgreSQL via pg (pool 4), one operation in flight unless stated`,
)
handle.dispose()
await db.close()
await fk.close()
redis.disconnect()
