// keyFor over N row dependencies vs a raw MGET of N keys, on the same Redis and connection.
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
const fk = createFreshkey({ store, namespace: `bench-keyfor-${process.pid}`, logger: false })
const sizes = [1, 10, 100]
const rows: string[][] = []
const before = uptime()

try {
  for (const n of sizes) {
    const deps = Array.from({ length: n }, (_, i) => dep.row('users', i + 1))
    const raw = Array.from({ length: n + 1 }, (_, i) => `bench:raw:${process.pid}:users:${i + 1}`)
    await redis.mset(...raw.flatMap((k) => [k, 'tokentokentoken0']))
    await fk.keyFor(...deps) // creates the tokens, so both sides read existing keys
    await fk.keyFor(...deps)
    const sent = await counter.during(() => fk.keyFor(...deps))
    const r = await compare(
      { keyFor: () => fk.keyFor(...deps), mget: () => redis.mget(...raw) },
      { serverCpu: redisCpu(redis) },
    )
    rows.push([
      String(n),
      fmtOps(r.keyFor.opsPerSec),
      fmtOps(r.mget.opsPerSec),
      ratio(r.keyFor, r.mget),
      sent.join(' + '),
      `${fmtUs(r.keyFor.p50)} / ${fmtUs(r.keyFor.p99)}`,
      `${fmtUs(r.mget.p50)} / ${fmtUs(r.mget.p99)}`,
      fmtCpu(r.keyFor),
      fmtCpu(r.mget),
    ])
    await redis.unlink(...raw)
  }
  console.log(
    '### keyFor vs MGET (sequential awaits; tokens read: N rows + their table’s bulk token; MGET of N+1 keys)\n',
  )
  console.log(
    table(
      [
        'deps',
        'keyFor ops/s',
        'MGET ops/s',
        'ratio',
        'commands per keyFor',
        'keyFor p50 / p99 µs',
        'MGET p50 / p99 µs',
        'keyFor CPU µs/op client / redis',
        'MGET CPU µs/op client / redis',
      ],
      rows,
    ),
  )
  console.log(`\n${await environment(redis)}\nuptime before: ${before}\nuptime after:  ${uptime()}\n`)
} finally {
  await fk.close()
  await store.close()
  redis.disconnect()
}
