// Single-row update transactions per second on PostgreSQL through MikroORM 7.2, without and with
// @freshkey/mikro-orm, in one run (alternating rounds, one database, two ORMs with the same pool).
// Needs DATABASE_URL (allowed to CREATE DATABASE) and REDIS_URL; FK_BENCH_STORE=memory runs it on the memory store.
import { loadavg } from 'node:os'
import { createFreshkey } from '@freshkey/core'
import type { MikroORM } from '@mikro-orm/postgresql'
import { freshkeyMikroORM } from '../../packages/mikro-orm/src/index.ts'
import { BenchArticle, openBenchDatabase } from '../../packages/mikro-orm/test/support/bench-fixture.ts'
import { compare, environment, fmtOps, fmtUs, ratio, table } from '../lib/measure.ts'
import { benchStore } from '../lib/mikro-orm-store.ts'

if (!process.env.DATABASE_URL) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}
const { redis, store, storeNote } = await benchStore()
const fk = createFreshkey({ store, namespace: `bench-mikro-orm-${process.pid}`, logger: false })
const db = await openBenchDatabase(4)
const handle = freshkeyMikroORM(db.watched, fk)
await handle.verify()

let n = 0
const cases: [string, (orm: MikroORM) => () => Promise<unknown>][] = [
  [
    'em.transactional(em => em.nativeUpdate(id))',
    (orm) => () =>
      orm.em.fork().transactional((em) => em.nativeUpdate(BenchArticle, 1, { title: `t${n++}` })),
  ],
  [
    'flush of a loaded entity, unscoped field (implicit transaction)',
    (orm) => async () => {
      const em = orm.em.fork()
      const a = await em.findOneOrFail(BenchArticle, 1)
      a.title = `t${n++}`
      await em.flush()
    },
  ],
  // Moves the row between the two lists of the declared scope: no before image is read any more.
  [
    'flush of a loaded entity, scoped field (implicit transaction)',
    (orm) => async () => {
      const em = orm.em.fork()
      const a = await em.findOneOrFail(BenchArticle, 2)
      a.category = n++ % 2 ? 'tech' : 'news'
      await em.flush()
    },
  ],
  [
    'em.nativeUpdate(id) (autocommit)',
    (orm) => () => orm.em.fork().nativeUpdate(BenchArticle, 1, { title: `t${n++}` }),
  ],
]

// Throughput with several transactions in flight: the fence's round trip overlaps other work.
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
  const plain = op(db.plain)
  // The least any design that talks to Redis per commit can cost: one PING in parallel with the write.
  const ping = redis ? () => Promise.all([plain(), redis.ping()]) : plain
  const r = await compare({ mikroOrm: plain, ping, freshkey: op(db.watched) }, { rounds: 15, roundMs: 300 })
  // One call of the parallel case is `parallel` transactions; its p50 is the whole batch.
  const per = name.includes('in flight') ? parallel : 1
  rows.push([
    name,
    fmtOps(r.mikroOrm.opsPerSec * per),
    fmtOps(r.freshkey.opsPerSec * per),
    ratio(r.freshkey, r.mikroOrm),
    redis ? ratio(r.ping, r.mikroOrm) : 'n/a',
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
      'ratio with only a PING in parallel',
      'p50 µs',
      'p50 µs + freshkey',
      'client CPU µs/tx (MikroORM / + freshkey)',
    ],
    rows,
  ),
)
const where = redis ? await environment(redis) : storeNote
console.log(
  `\n${where}; PostgreSQL via MikroORM 7.2.1 (pool 4), one operation in flight unless stated; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
const { adapterErrors } = fk.stats()
if (adapterErrors > 0) console.log(`adapter errors: ${adapterErrors}`)
handle.dispose()
await db.close()
await fk.close()
redis?.disconnect()
process.exit(0) // the stores of every contender hold subscriber connections
