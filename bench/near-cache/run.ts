// The near cache: a hit from process memory vs a raw Redis GET of the same value, and the
// cross-process staleness window (bump message sent in one process → entry dropped in another).
import { fork } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'

const child = process.argv[2] === 'child'
const url = redisUrl()
const namespace = process.env.FK_BENCH_NS ?? `bench-near-${process.pid}`
const value = {
  id: 1,
  name: 'Ada Lovelace',
  bio: 'x'.repeat(600),
  tags: Array.from({ length: 12 }, (_, i) => `t${i}`),
}

if (child) {
  // The reader process: keeps row 1 cached in its near cache and re-reads it after every drop.
  const fk = createFreshkey({
    store: redisStore(url),
    namespace,
    logger: false,
    nearCache: { maxEntries: 1000 },
  })
  const deps = [dep.row('users', 1)]
  let version = 0
  const tick = async () => fk.wrap('user:1', () => ({ ...value, version: ++version }), { deps })
  const timer = setInterval(() => void tick(), 2)
  process.on('message', async (m) => {
    if (m === 'stats') {
      clearInterval(timer)
      process.send!(fk.stats().nearCache)
      await fk.close()
      process.exit(0)
    }
  })
  process.send!('ready')
} else {
  const redis = new Redis(url)
  const store = redisStore(redis)
  const fk = createFreshkey({
    store,
    namespace,
    logger: false,
    nearCache: { maxEntries: 1000 },
  })
  const rawKey = `bench:near:${process.pid}`
  await redis.set(rawKey, JSON.stringify(value))
  const deps = [dep.row('users', 42)]
  const loader = () => value
  while (!fk.stats().nearCache?.live) await new Promise((r) => setTimeout(r, 20))
  await fk.wrap('user:42', loader, { deps })
  const r = await compare({
    near: () => fk.wrap('user:42', loader, { deps }),
    get: () => redis.get(rawKey),
    getParse: async () => JSON.parse((await redis.get(rawKey))!),
  })
  const hits = table(
    ['contender', 'ops/s', 'p50 µs', 'p99 µs', 'ratio vs GET', 'ratio vs GET + JSON.parse'],
    [
      [
        'near-cache hit (`fk.wrap`)',
        fmtOps(r.near.opsPerSec),
        fmtUs(r.near.p50),
        fmtUs(r.near.p99),
        ratio(r.near, r.get),
        ratio(r.near, r.getParse),
      ],
      ['Redis GET', fmtOps(r.get.opsPerSec), fmtUs(r.get.p50), fmtUs(r.get.p99), '1.00', ''],
      [
        'Redis GET + JSON.parse',
        fmtOps(r.getParse.opsPerSec),
        fmtUs(r.getParse.p50),
        fmtUs(r.getParse.p99),
        '',
        '1.00',
      ],
    ],
  )

  // Staleness window: the writer bumps row 1 every 10 ms for 5 s; the reader process reports the delays.
  const reader = fork(fileURLToPath(import.meta.url), ['child'], {
    env: { ...process.env, FK_BENCH_NS: namespace },
  })
  await new Promise((resolve) => reader.once('message', resolve))
  await new Promise((r) => setTimeout(r, 300))
  const until = Date.now() + 5000
  let bumps = 0
  while (Date.now() < until) {
    await fk.changed({ table: 'users', kind: 'update', pk: 1 })
    bumps++
    await new Promise((r) => setTimeout(r, 10))
  }
  reader.send('stats')
  const stats = (await new Promise((resolve) => reader.once('message', resolve))) as {
    lagMs: { p50: number; p99: number; max: number; count: number }
  }
  console.log(
    `${await environment(redis)}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
  console.log(`\n### Near-cache hit vs Redis GET (1 KB value)\n\n${hits}\n`)
  console.log(
    `### Cross-process staleness window\n\n${table(
      ['bumps sent', 'messages received', 'p50 ms', 'p99 ms', 'max ms'],
      [
        [
          String(bumps),
          String(stats.lagMs.count),
          String(stats.lagMs.p50),
          String(stats.lagMs.p99),
          String(stats.lagMs.max),
        ],
      ],
    )}\n\n(message sent by the writer → entry dropped in the reader; includes pings; clocks of one machine)`,
  )
  await fk.close()
  await store.close() // its subscriber connection
  await redis.quit()
  reader.kill()
}
