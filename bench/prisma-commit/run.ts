// Single-row writes per second on PostgreSQL through Prisma 7 (adapter-pg), without and with
// @freshkey/prisma on Redis, in one run (alternating rounds, same database): autocommit updates
// (fenced in parallel with the statement), one-update interactive transactions (fenced in parallel
// with COMMIT), and the same on a field of a declared scope. Needs REDIS_URL and DATABASE_URL (a
// PostgreSQL URL allowed to CREATE DATABASE); starts no server.
import { uptime } from 'node:os'
import { createFreshkey, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { freshkeyPrisma } from '../../packages/prisma/src/index.ts'
import { openDatabase } from '../../packages/prisma/test/support/clients.ts'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'

const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error(
    'DATABASE_URL is not set: point it at a local PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  )
  process.exit(1)
}
const redis = new Redis(redisUrl())
const fk = createFreshkey({ store: redisStore(redis), namespace: `bench-prisma-${process.pid}` })
const db = await openDatabase('postgres', databaseUrl, { poolSize: 4 })
const base = db.base
const options = { metadata: db.metadata, scopes: { Article: ['published', 'category'] } }
const prisma = base.$extends(freshkeyPrisma(fk, options))
// The same adapter on an in-process store: what it costs without the Redis round trip.
const local = base.$extends(
  freshkeyPrisma(createFreshkey({ store: memoryStore(), namespace: 'bench-local' }), options),
)
await base.user.create({ data: { id: 1, name: 'bench' } })
await base.article.createMany({
  data: [1, 2].map((id) => ({ id, title: 't', published: true, category: 'tech', authorId: 1 })),
})

let n = 0
type Client = Pick<typeof prisma, 'article' | '$transaction'>
const update = (c: Client) => () => c.article.update({ where: { id: 1 }, data: { title: `t${n++}` } })
const interactive = (c: Client) => () =>
  c.$transaction(async (tx) => tx.article.update({ where: { id: 1 }, data: { title: `t${n++}` } }))
// Moves the row between two conditions of the declared scope: no before image is read any more.
const scoped = (c: Client) => () =>
  c.article.update({ where: { id: 2 }, data: { category: n++ % 2 ? 'tech' : 'news' } })
const scopedTx = (c: Client) => () =>
  c.$transaction(async (tx) =>
    tx.article.update({ where: { id: 2 }, data: { category: n++ % 2 ? 'tech' : 'news' } }),
  )

const cases = [
  ['update() by key (autocommit)', update],
  ['$transaction(tx => tx.update())', interactive],
  ['update() of a scoped field (autocommit)', scoped],
  ['$transaction of a scoped-field update', scopedTx],
] as const

const rows: string[][] = []
for (const [name, op] of cases) {
  const plain = op(base as unknown as Client)
  const r = await compare(
    {
      prisma: plain,
      // The least any design that talks to Redis per commit can cost: one PING in parallel with the write.
      ping: () => Promise.all([plain(), redis.ping()]),
      freshkey: op(prisma),
      memory: op(local as unknown as Client),
    },
    { rounds: 15, roundMs: 300 },
  )
  rows.push([
    name,
    fmtOps(r.prisma.opsPerSec),
    fmtOps(r.freshkey.opsPerSec),
    ratio(r.freshkey, r.prisma),
    ratio(r.memory, r.prisma),
    ratio(r.ping, r.prisma),
    `${fmtUs(r.prisma.p50)} / ${fmtUs(r.freshkey.p50)}`,
  ])
}
const head = [
  'single-row write',
  'Prisma ops/s',
  '+ freshkey ops/s',
  'ratio',
  'ratio (memory store)',
  'ratio with only a PING in parallel',
  'p50 µs without / with',
]
console.log(table(head, rows))
console.log(
  `\n${await environment(redis)}; PostgreSQL via @prisma/adapter-pg (pool 4), one operation in flight; ` +
    `uptime ${(uptime() / 3600).toFixed(1)} h, load ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
await db.close()
await fk.close()
redis.disconnect()
