// fk.wrap cache-hit path vs a raw GET of a same-size value, on the same Redis and connection.
import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import {
  compare,
  environment,
  fmtCpu,
  fmtOps,
  fmtUs,
  ratio,
  redisCpu,
  redisUrl,
  table,
} from '../lib/measure.ts'

const redis = new Redis(redisUrl())
const store = redisStore(redis)
const fk = createFreshkey({ store, namespace: `bench-wrap-${process.pid}` })

/** A user-profile-like object of about 1 KB as JSON. */
const value = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  createdAt: '2024-01-01T00:00:00.000Z',
  roles: ['admin', 'editor', 'author'],
  settings: { theme: 'dark', locale: 'en-GB', notifications: { email: true, push: false } },
  bio: 'x'.repeat(600),
  stats: { posts: 123, followers: 4567, following: 89 },
  tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`),
}
const json = JSON.stringify(value)
const rawKey = `bench:raw:${process.pid}:user:1`
let loads = 0
const loader = () => {
  loads++
  return value
}
const rows: string[][] = []

try {
  await redis.set(rawKey, json)
  for (const n of [1, 10]) {
    const deps = Array.from({ length: n }, (_, i) => dep.row('users', i + 1))
    await fk.wrap(deps, loader) // the one miss: every measured call is a hit
    const r = await compare(
      {
        wrap: () => fk.wrap(deps, loader),
        get: () => redis.get(rawKey),
        getParse: async () => JSON.parse((await redis.get(rawKey))!),
      },
      { serverCpu: redisCpu(redis) },
    )
    rows.push([
      String(n),
      fmtOps(r.wrap.opsPerSec),
      fmtOps(r.get.opsPerSec),
      fmtOps(r.getParse.opsPerSec),
      ratio(r.wrap, r.get),
      ratio(r.wrap, r.getParse),
      `${fmtUs(r.wrap.p50)} / ${fmtUs(r.wrap.p99)}`,
      `${fmtUs(r.get.p50)} / ${fmtUs(r.get.p99)}`,
      fmtCpu(r.wrap),
      fmtCpu(r.get),
    ])
  }
  if (loads !== 2) throw new Error(`expected only the 2 warm-up loads, the loader ran ${loads} times`)
  console.log(`### wrap cache hit vs GET (value: ${json.length} bytes of JSON; sequential awaits)\n`)
  console.log(
    table(
      [
        'deps',
        'wrap hit ops/s',
        'GET ops/s',
        'GET+JSON.parse ops/s',
        'ratio vs GET',
        'ratio vs GET+parse',
        'wrap p50 / p99 µs',
        'GET p50 / p99 µs',
        'wrap CPU µs/op client / redis',
        'GET CPU µs/op client / redis',
      ],
      rows,
    ),
  )
  console.log(`\n${await environment(redis)}\n`)
} finally {
  await redis.unlink(rawKey)
  await fk.close()
  redis.disconnect()
}
