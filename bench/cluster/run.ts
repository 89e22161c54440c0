// An app of 40 tables on Redis Cluster (3 masters) vs standalone Redis, same workload, same run:
// how the namespace's keys and commands spread over the masters, and throughput against standalone.
// Needs REDIS_URL (standalone) and REDIS_CLUSTER_NODES (host:port,...; e.g. what .ci/run starts).
import { createFreshkey, dep, type Freshkey } from '@freshkey/core'
import { Keyspace } from '@freshkey/core/adapter'
import { keySlot, redisStore } from '@freshkey/redis'
import { Cluster, Redis } from 'ioredis'
import { commandCalls, uptime } from '../lib/commands.ts'
import { compare, environment, fmtOps, fmtUs, ratio, redisUrl, table } from '../lib/measure.ts'

const nodesEnv = process.env.REDIS_CLUSTER_NODES
if (!nodesEnv) {
  console.error('REDIS_CLUSTER_NODES is not set (host:port,...): start a 3-master Cluster (see .ci/run)')
  process.exit(1)
}
const nodes = nodesEnv.split(',')
// A shop-like schema: a token group per table, so keys spread by table (and values on their own).
const TABLES = [
  'users',
  'profiles',
  'sessions',
  'addresses',
  'products',
  'categories',
  'product_categories',
  'prices',
  'inventory',
  'warehouses',
  'carts',
  'cart_items',
  'orders',
  'order_items',
  'payments',
  'refunds',
  'shipments',
  'reviews',
  'coupons',
  'wishlists',
  'suppliers',
  'purchase_orders',
  'audit_log',
  'settings',
  'brands',
  'tags',
  'product_tags',
  'images',
  'variants',
  'taxes',
  'currencies',
  'countries',
  'regions',
  'stores',
  'employees',
  'roles',
  'permissions',
  'notifications',
  'messages',
  'subscriptions',
]
const ROWS = 100
const CONCURRENCY = 8
const before = uptime()

// The namespace decides (with the table names) which master each table's tokens live on.
const namespace = process.env.FK_BENCH_NAMESPACE ?? 'shop'
// Same client settings on both sides (ioredis defaults: no auto-pipelining, which a Cluster cannot
// use for scripts anyway); redisStore(url) alone turns auto-pipelining on for standalone (3rd row).
const standaloneClient = new Redis(redisUrl())
const standalone = redisStore(standaloneClient)
const clustered = redisStore({ cluster: nodes })
const piped = redisStore(redisUrl())
await standalone.ready()
await clustered.ready(10_000)
await piped.ready()
const fkS = createFreshkey({ store: standalone, namespace, logger: false })
const fkC = createFreshkey({ store: clustered, namespace, logger: false })
const fkP = createFreshkey({ store: piped, namespace: `${namespace}-piped`, logger: false })

let seed = 1
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
const value = { id: 1, title: 'a title', body: 'x'.repeat(300) }
/** One request: 85% a row read, 5% a table list read, 10% a write. */
async function op(fk: Freshkey): Promise<void> {
  const t = TABLES[Math.floor(random() * TABLES.length)]!
  const r = 1 + Math.floor(random() * ROWS)
  const x = random()
  if (x < 0.85) await fk.wrap([`row:${t}`, dep.row(t, r)], () => value)
  else if (x < 0.9) await fk.wrap([`list:${t}`, dep.table(t)], () => [value, value])
  else await fk.changed({ table: t, kind: 'update', pk: r })
}
const batch = (fk: Freshkey) => () => Promise.all(Array.from({ length: CONCURRENCY }, () => op(fk)))

const admin = new Cluster(nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })))
await admin.ping()
const masters = admin.nodes('master')
const statsOf = async () => Promise.all(masters.map(async (m) => commandCalls(await m.info('commandstats'))))
const IGNORED = new Set([
  'info',
  'cluster|slots',
  'cluster|nodes',
  'cluster|info',
  'cluster|shards',
  'scan',
  'ping',
  'config|resetstat',
  'readonly',
  'command',
  'command|docs',
  'client|setname',
  'hello',
])
const sum = (m: Map<string, number>) => [...m].filter(([k]) => !IGNORED.has(k)).reduce((a, [, v]) => a + v, 0)

try {
  // A warm cache: every row read once on both stores; then interleaved measured rounds.
  for (const fk of [fkS, fkC, fkP]) {
    for (const t of TABLES) {
      await Promise.all(
        Array.from({ length: ROWS }, (_, i) => fk.wrap([`row:${t}`, dep.row(t, i + 1)], () => value)),
      )
      await fk.wrap([`list:${t}`, dep.table(t)], () => [value, value])
    }
  }
  for (let i = 0; i < 100; i++) {
    await batch(fkS)()
    await batch(fkC)()
    await batch(fkP)()
  }
  const statsBefore = await statsOf()
  const r = await compare(
    { standalone: batch(fkS), cluster: batch(fkC), piped: batch(fkP) },
    { rounds: 15, roundMs: 300 },
  )
  const statsAfter = await statsOf()

  const keys: number[] = []
  for (const m of masters) {
    let cursor = '0'
    let n = 0
    do {
      const [next, found] = await m.scan(cursor, 'MATCH', `fk:{${namespace}:*`, 'COUNT', 1000)
      cursor = next
      n += found.length
    } while (cursor !== '0')
    keys.push(n)
  }
  const commands = masters.map((_, i) => sum(statsAfter[i]!) - sum(statsBefore[i]!))
  const totalKeys = keys.reduce((a, b) => a + b, 0)
  const totalCommands = commands.reduce((a, b) => a + b, 0)
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)} %`
  const inRange = (n: number, of: number) => n / of >= 0.2 && n / of <= 0.47

  console.log(
    `### Redis Cluster vs standalone: ${TABLES.length} tables × ${ROWS} rows, ${CONCURRENCY} concurrent requests (85 % row reads, 5 % list reads, 10 % writes)\n`,
  )
  console.log(
    table(
      ['master', 'keys of the namespace', 'share', 'commands served (measured rounds)', 'share'],
      masters.map((m, i) => [
        `${m.options.host}:${m.options.port}`,
        String(keys[i]),
        pct(keys[i]!, totalKeys),
        String(commands[i]),
        pct(commands[i]!, totalCommands),
      ]),
    ),
  )
  const keysOk = keys.every((k) => inRange(k, totalKeys))
  const commandsOk = commands.every((c) => inRange(c, totalCommands))
  console.log(
    `\nevery master within 20–47 %: keys ${keysOk ? 'yes' : 'NO'}, commands ${commandsOk ? 'yes' : 'NO'}\n`,
  )
  console.log(
    table(
      ['store', 'requests/s', 'batch p50 / p99 µs', 'ratio vs standalone'],
      [
        [
          'standalone',
          fmtOps(r.standalone.opsPerSec * CONCURRENCY),
          `${fmtUs(r.standalone.p50)} / ${fmtUs(r.standalone.p99)}`,
          '1.00',
        ],
        [
          'Cluster (3 masters)',
          fmtOps(r.cluster.opsPerSec * CONCURRENCY),
          `${fmtUs(r.cluster.p50)} / ${fmtUs(r.cluster.p99)}`,
          ratio(r.cluster, r.standalone),
        ],
        [
          'standalone, redisStore(url) (auto-pipelining)',
          fmtOps(r.piped.opsPerSec * CONCURRENCY),
          `${fmtUs(r.piped.p50)} / ${fmtUs(r.piped.p99)}`,
          ratio(r.piped, r.standalone),
        ],
      ],
    ),
  )
  // How often another namespace of the same schema gets every master within 20–47 % of the token
  // groups' rows (tokens dominate the key count; values spread uniformly over all slots).
  const slots = (await admin.cluster('SLOTS')) as [number, number, [string, number]][]
  const ownerOf = (slot: number) => slots.find(([a, b]) => slot >= a && slot <= b)?.[2][1]
  let balanced = 0
  const SAMPLES = 1000
  let worst = 0
  for (let i = 0; i < SAMPLES; i++) {
    const ks = new Keyspace(`ns-${i}`, '1')
    const per = new Map<number | undefined, number>()
    for (const t of TABLES) {
      const owner = ownerOf(keySlot(`fk:${ks.table(t)}`))
      per.set(owner, (per.get(owner) ?? 0) + 1)
    }
    const shares = masters.map((m) => (per.get(Number(m.options.port)) ?? 0) / TABLES.length)
    worst = Math.max(worst, ...shares)
    if (shares.every((x) => x >= 0.2 && x <= 0.47)) balanced++
  }
  console.log(
    `\nacross ${SAMPLES} other namespaces with this schema, every master holds 20–47 % of the tables' token groups in ${((100 * balanced) / SAMPLES).toFixed(0)} % of them (worst master share seen: ${(100 * worst).toFixed(0)} %)`,
  )
  const probe = new Redis(redisUrl())
  console.log(
    `\n${await environment(probe)}; Cluster of ${nodes.length} nodes on the same machine\nuptime before: ${before}\nuptime after:  ${uptime()}\n`,
  )
  probe.disconnect()
  if (!keysOk || !commandsOk) process.exitCode = 1
} finally {
  const errors = [fkS, fkC, fkP].map((fk) => fk.stats().storeErrors)
  if (errors.some((e) => e > 0)) {
    console.error(`store errors during the run (standalone, Cluster, auto-pipelined): ${errors.join(', ')}`)
    process.exitCode = 1
  }
  await fkS.close()
  await fkC.close()
  await fkP.close()
  await standalone.close()
  await clustered.close()
  await piped.close()
  standaloneClient.disconnect()
  admin.disconnect()
}
