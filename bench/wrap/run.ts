// fk.wrap cache-hit path vs a raw GET (+ JSON.parse) of a same-size value, on the same Redis and
// connection; and the commands each operation sends (hit, miss, commit), counted at the client.
import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { countCommands, uptime } from '../lib/commands.ts'
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
const counter = countCommands(redis)
const store = redisStore(redis)
await store.ready()
const fk = createFreshkey({ store, namespace: `bench-wrap-${process.pid}`, logger: false })
const other = new Redis(redisUrl())
const otherStore = redisStore(other)
await otherStore.ready()
const writer = createFreshkey({ store: otherStore, namespace: `bench-wrap-${process.pid}`, logger: false })

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
const before = uptime()

try {
  await redis.set(rawKey, json)
  for (const n of [1, 10]) {
    const deps = ['user', ...Array.from({ length: n }, (_, i) => dep.row('users', i + 1))]
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
      `${fmtUs(r.getParse.p50)} / ${fmtUs(r.getParse.p99)}`,
      fmtCpu(r.wrap),
      fmtCpu(r.getParse),
    ])
  }
  if (loads !== 2) throw new Error(`expected only the 2 warm-up loads, the loader ran ${loads} times`)

  // Commands per operation, counted at the client (the other process-like instance bumps).
  const deps = ['user', dep.row('users', 1)]
  const samples = 200
  const count = { hit: 0, miss: 0, commit: 0 }
  const kinds = { hit: new Set<string>(), miss: new Set<string>(), commit: new Set<string>() }
  for (let i = 0; i < samples; i++) {
    await writer.changed({ table: 'users', kind: 'update', pk: 1 })
    const miss = await counter.during(() => fk.wrap(deps, loader))
    const hit = await counter.during(() => fk.wrap(deps, loader))
    const commit = await counter.during(() => fk.changed({ table: 'users', kind: 'update', pk: 1 }))
    count.miss += miss.length
    count.hit += hit.length
    count.commit += commit.length
    kinds.miss.add(miss.join(' + '))
    kinds.hit.add(hit.join(' + '))
    kinds.commit.add(commit.join(' + '))
  }
  await fk.idle()

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
        'GET+parse p50 / p99 µs',
        'wrap CPU µs/op client / redis',
        'GET+parse CPU µs/op client / redis',
      ],
      rows,
    ),
  )
  console.log(`\n### commands per operation, counted at the client (${samples} of each, 1 row dependency)\n`)
  console.log(
    table(
      ['operation', 'commands per op', 'what'],
      (['hit', 'miss', 'commit'] as const).map((k) => [
        k,
        (count[k] / samples).toFixed(2),
        [...kinds[k]].join(' / '),
      ]),
    ),
  )
  console.log(
    '\nA commit is one command: the bump script publishes its own message, best effort (with `replicas`, WAIT follows in the same pipeline).',
  )
  console.log(`\n${await environment(redis)}\nuptime before: ${before}\nuptime after:  ${uptime()}\n`)
} finally {
  await redis.unlink(rawKey)
  await fk.close()
  await writer.close()
  await store.close()
  await otherStore.close()
  redis.disconnect()
  other.disconnect()
}
