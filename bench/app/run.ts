// The application benchmark: a read-heavy blog run against every contender in one process, in
// interleaved rounds, each on its own copy of the database, every read checked for staleness.
//
//   REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//     pnpm run bench app [--quick] [--self-test] [--only a,b] [--seconds 7] [--rounds 5]
//     [--warmup 2] [--ttl 30] [--pool 8] [--seed 1] [--out PREFIX] [--update-docs]
//     [--keep-dbs] [--list] [--render PREFIX.json]
//
// See docs/benchmarks.md ("Application benchmark") for the workload, the checker and the results.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { Checker, type Observation, READ_KINDS, StaleStats, Truth } from './checker.ts'
import { baselineOf, contenders as defaultSet, extraContenders } from './contenders/index.ts'
import type { App, Contender } from './contenders/types.ts'
import {
  cloneDatabase,
  createTemplate,
  DEFAULT_SIZES,
  dropDatabase,
  generateSeed,
  maxConnections,
  pgConnect,
} from './db.ts'
import { installCounters, newCounter } from './instrument.ts'
import { type ContenderResult, type Report, renderMarkdown, svgChart } from './report.ts'
import { checkerSelfTest } from './selftest.ts'
import { checkAll, Keys, MIX, runRound, WORKERS, WorkloadState } from './workload.ts'

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..')

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'self-test': { type: 'boolean', default: false },
    ttl: { type: 'string', default: '30' },
    pool: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    'keep-dbs': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    render: { type: 'string' },
  },
  strict: true,
})

const all = [...defaultSet, ...extraContenders]
if (args.list) {
  for (const c of all) console.log(`${c.name.padEnd(28)} ${c.orm.padEnd(10)} ${c.config}`)
  process.exit(0)
}

/** Writes the report where --out and --update-docs say. */
function publish(report: Report): void {
  const markdown = renderMarkdown(report)
  const svg = svgChart(report.results, report.subtitle)
  if (args.out) {
    // Relative to where `pnpm run bench` was started (bench/run.ts runs this in bench/).
    const prefix = resolve(process.env.INIT_CWD ?? process.cwd(), args.out)
    writeFileSync(`${prefix}.md`, markdown)
    writeFileSync(`${prefix}.svg`, svg)
    if (!args.render) writeFileSync(`${prefix}.json`, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`wrote ${prefix}.md, ${prefix}.svg${args.render ? '' : ` and ${prefix}.json`}`)
  }
  if (args['update-docs']) {
    const docs = join(repo, 'docs/benchmarks.md')
    const text = readFileSync(docs, 'utf8')
    const begin = '<!-- bench/app results: begin -->'
    const end = '<!-- bench/app results: end -->'
    const i = text.indexOf(begin)
    const j = text.indexOf(end)
    if (i < 0 || j < i) console.log(`docs/benchmarks.md has no ${begin} … ${end} markers: not updated`)
    else {
      writeFileSync(docs, `${text.slice(0, i + begin.length)}\n\n${markdown}\n${text.slice(j)}`)
      writeFileSync(join(repo, 'docs/benchmarks-app.svg'), svg)
      console.log('updated docs/benchmarks.md and docs/benchmarks-app.svg')
    }
  }
}

// --render FILE.json: the tables and chart of a saved run (after a change of format), no servers.
if (args.render) {
  const report = JSON.parse(
    readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), args.render), 'utf8'),
  ) as Report
  console.log(renderMarkdown(report))
  publish(report)
  process.exit(0)
}

const quick = args.quick
const seconds = Number(args.seconds ?? (quick ? 3 : 7))
const rounds = Number(args.rounds ?? (quick ? 1 : 5))
const warmup = Number(args.warmup ?? (quick ? 1 : 2))
const ttl = Number(args.ttl)
const rngSeed = Number(args.seed)
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim()

// ---------------------------------------------------------------- self-test, part 1 (no servers)
if (args['self-test']) {
  const { passed, failures } = checkerSelfTest()
  console.log(`checker self-test (hand-made histories): ${passed} passed, ${failures.length} failed`)
  for (const f of failures) console.log(`  FAIL ${f}`)
  if (failures.length > 0) process.exit(1)
}

const redisBase = process.env.REDIS_URL
const pgBase = process.env.DATABASE_URL
if (!redisBase || !pgBase) {
  console.error(
    'bench/app needs REDIS_URL (a throwaway redis-server: it uses logical databases 1–15) and DATABASE_URL ' +
      '(a PostgreSQL URL allowed to CREATE DATABASE), e.g.\n' +
      '  redis-server --port 6415 --save "" --daemonize yes\n' +
      '  REDIS_URL=redis://127.0.0.1:6415 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm run bench app --quick',
  )
  process.exit(1)
}

// ---------------------------------------------------------------- which contenders
let chosen: Contender[]
if (args['self-test']) {
  chosen = all.filter((c) => c.name === 'typeorm' || c.name === 'typeorm-ioredis-cache')
} else if (args.only) {
  const names = args.only.split(',').map((s) => s.trim())
  const unknown = names.filter((n) => !all.some((c) => c.name === n))
  if (unknown.length) {
    console.error(`unknown contender(s): ${unknown.join(', ')} (see --list)`)
    process.exit(1)
  }
  const picked = all.filter((c) => names.includes(c.name))
  // Ratios need the same ORM's no-cache run in the same rounds.
  const baselines = [...new Set(picked.map((c) => baselineOf[c.orm]))].filter((b) => !picked.includes(b))
  chosen = all.filter((c) => picked.includes(c) || baselines.includes(c))
} else chosen = [...defaultSet]
const skipped: { name: string; why: string }[] = []
chosen = chosen.filter((c) => {
  const why = c.unavailable?.()
  if (why && !(args.only ?? '').split(',').includes(c.name)) {
    skipped.push({ name: c.name, why })
    return false
  }
  return true
})

const before = uptime()
console.log(`uptime before: ${before}`)
console.log(
  `bench/app: ${chosen.length} contenders × ${rounds} round(s) × ${seconds} s (each after ${warmup} s of warm-up), ${WORKERS} in flight, TTL caches ${ttl} s`,
)
for (const s of skipped) console.log(`skipped ${s.name}: ${s.why}`)

installCounters()

// ---------------------------------------------------------------- Redis: one logical database each
const admin = new Redis(redisBase)
const dbCount = Number(((await admin.config('GET', 'databases')) as string[])[1] ?? 16)
if (dbCount < 16) {
  console.error(
    `the Redis server has ${dbCount} databases; bench/app needs 16 (databases 1–15 for contenders)`,
  )
  process.exit(1)
}
const MARK = '__freshkey_bench_app__'
const redisDbs = new Map<string, number>()
{
  const free = Array.from({ length: 15 }, (_, i) => i + 1)
  const scanners = chosen.filter((c) => c.scansRedis)
  for (const c of scanners) redisDbs.set(c.name, free.shift() ?? 1 + (redisDbs.size % 15))
  const shared = free.length ? free : [15]
  let next = 0
  for (const c of chosen) if (!c.scansRedis) redisDbs.set(c.name, shared[next++ % shared.length]!)
  for (const db of new Set(redisDbs.values())) {
    await admin.select(db)
    const size = await admin.dbsize()
    if (size > 0 && !(await admin.exists(MARK))) {
      console.error(
        `Redis database ${db} holds ${size} keys that bench/app did not write; point REDIS_URL at a throwaway server`,
      )
      process.exit(1)
    }
    await admin.flushdb()
    await admin.set(MARK, '1')
  }
  await admin.select(0)
}
const redisUrlFor = (db: number) => {
  const u = new URL(redisBase)
  u.pathname = `/${db}`
  return u.href
}
const serverInfo = await admin.info('server')
const redisVersion = /redis_version:(\S+)/.exec(serverInfo)?.[1] ?? '?'

async function commandCalls(): Promise<number> {
  const info = await admin.info('commandstats')
  let total = 0
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') total += Number(m[2])
  return total
}

// ---------------------------------------------------------------- PostgreSQL: template + copies
const limit = await maxConnections(pgBase)
let pool = Number(args.pool)
if (chosen.length * pool + 8 > limit) {
  pool = Math.max(2, Math.floor((limit - 8) / chosen.length))
  console.log(`max_connections is ${limit}: pools reduced to ${pool} connections per contender`)
}
const pgVersion = await (async () => {
  const c = await pgConnect(pgBase)
  try {
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?'
  } finally {
    await c.end()
  }
})()
const seed = generateSeed(rngSeed, DEFAULT_SIZES)
const TEMPLATE = 'fkbench_app_template'
const dbName = (c: Contender) => `fkbench_app_${c.name.replace(/[^a-z0-9]+/g, '_')}`
let t = Date.now()
await createTemplate(pgBase, TEMPLATE, seed)
console.log(
  `seeded ${DEFAULT_SIZES.articles.toLocaleString('en-US')} articles, ${DEFAULT_SIZES.users.toLocaleString('en-US')} users, ${DEFAULT_SIZES.categories} categories in ${Date.now() - t} ms`,
)

// ---------------------------------------------------------------- open every contender
interface Run {
  contender: Contender
  app: App
  state: WorkloadState
  checker: Checker
  stale: StaleStats
  read: ReturnType<typeof newCounter>
  write: ReturnType<typeof newCounter>
  perRound: number[]
  readLatency: number[]
  writeLatency: number[]
  elapsedMs: number
  serverCalls: number
}
const keys = new Keys(seed, rngSeed)
const runs: Run[] = []
const failed: { name: string; why: string }[] = []
const runTag = `${process.pid.toString(36)}${Date.now().toString(36)}`
for (const contender of chosen) {
  t = Date.now()
  try {
    const dbUrl = await cloneDatabase(pgBase, TEMPLATE, dbName(contender))
    const app = await contender.open({
      dbUrl,
      redisUrl: redisUrlFor(redisDbs.get(contender.name)!),
      pool,
      ttl,
      namespace: `fkb-${runTag}-${contender.name}`,
      seed,
    })
    const truth = new Truth(seed)
    runs.push({
      contender,
      app,
      state: new WorkloadState(keys, truth, rngSeed),
      checker: new Checker(truth),
      stale: new StaleStats(),
      read: newCounter(),
      write: newCounter(),
      perRound: [],
      readLatency: [],
      writeLatency: [],
      elapsedMs: 0,
      serverCalls: 0,
    })
    console.log(`opened ${contender.name} (${Date.now() - t} ms)`)
  } catch (error) {
    failed.push({ name: contender.name, why: String((error as Error)?.message ?? error).split('\n')[0]! })
    console.log(`FAILED to open ${contender.name}: ${(error as Error)?.stack ?? error}`)
  }
}

// ---------------------------------------------------------------- interleaved rounds, each with a warm-up
const hung = new Set<Run>()
const hang = (run: Run, error: unknown) => {
  hung.add(run)
  failed.push({ name: run.contender.name, why: String((error as Error)?.message ?? error) })
  console.log(`\n${run.contender.name}: ${(error as Error)?.message ?? error}; dropped from the run`)
}
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? runs : [...runs].reverse()
  const line: string[] = []
  for (const run of order) {
    if (hung.has(run)) continue
    const observations: Observation[] = []
    let stats: Awaited<ReturnType<typeof runRound>>
    let calls0 = 0
    try {
      // Warm-up (not measured, not checked; its writes are recorded in the truth): the contender's
      // caches were idle while the others ran, and TTL entries may have expired meanwhile.
      await runRound({
        app: run.app,
        state: run.state,
        ms: warmup * 1000,
        readCounter: newCounter(),
        writeCounter: newCounter(),
      })
      calls0 = await commandCalls()
      stats = await runRound({
        app: run.app,
        state: run.state,
        ms: seconds * 1000,
        readCounter: run.read,
        writeCounter: run.write,
        observations,
      })
    } catch (error) {
      hang(run, error)
      continue
    }
    run.serverCalls += (await commandCalls()) - calls0
    run.elapsedMs += stats.elapsedMs
    run.perRound.push(((stats.reads + stats.writes) / stats.elapsedMs) * 1000)
    for (const x of stats.readLatency) run.readLatency.push(x)
    for (const x of stats.writeLatency) run.writeLatency.push(x)
    checkAll(run.checker, observations, run.stale)
    line.push(`${run.contender.name} ${Math.round(run.perRound.at(-1)!)}`)
  }
  console.log(`round ${r + 1}/${rounds}: ${line.join(', ')} ops/s`)
}

// ---------------------------------------------------------------- results
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const pct = (xs: readonly number[], p: number) => {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
const measured = runs.filter((r) => !hung.has(r))
const byName = new Map(measured.map((r) => [r.contender.name, r]))
const results: ContenderResult[] = measured.map((run) => {
  const base = byName.get(baselineOf[run.contender.orm].name)
  const ratio = base ? median(run.perRound.map((x, i) => x / base.perRound[i]!)) : undefined
  const ages = run.stale.ages
  const ops = run.read.ops + run.write.ops
  return {
    name: run.contender.name,
    orm: run.contender.orm,
    family: run.contender.family,
    config: run.contender.config.replace(/\bTTL\b/g, `${ttl} s`),
    opsPerSec: median(run.perRound),
    ratio,
    readP50: pct(run.readLatency, 50),
    readP99: pct(run.readLatency, 99),
    writeP50: pct(run.writeLatency, 50),
    writeP99: pct(run.writeLatency, 99),
    redisPerRead: run.read.redis / run.read.ops,
    redisPerWrite: run.write.redis / run.write.ops,
    serverRedisPerOp: run.serverCalls / ops,
    dbPerRead: run.read.db / run.read.ops,
    dbPerWrite: run.write.db / run.write.ops,
    reads: run.stale.reads,
    writes: run.write.ops,
    stale: run.stale.stale,
    staleByKind: Object.fromEntries(
      READ_KINDS.map((k) => [k, run.stale.byKind.get(k)!]),
    ) as ContenderResult['staleByKind'],
    ageP50: ages.length ? pct(ages, 50) : undefined,
    ageMax: ages.length ? ages.reduce((a, b) => Math.max(a, b)) : undefined, // no spread: 100k+ ages overflow the stack
    torn: run.stale.torn,
    anomalies: run.stale.anomalyCount,
    anomalySamples: run.stale.anomalies,
    errors: run.state.readErrors + run.state.writeErrors,
    errorSamples: run.state.errorSamples,
  }
})

// ---------------------------------------------------------------- teardown
for (const run of measured) {
  try {
    await run.app.close()
  } catch (error) {
    console.log(`closing ${run.contender.name}: ${(error as Error)?.message ?? error}`)
  }
}
if (!args['keep-dbs']) {
  for (const c of chosen) await dropDatabase(pgBase, dbName(c))
  await dropDatabase(pgBase, TEMPLATE)
}
for (const db of new Set(redisDbs.values())) {
  await admin.select(db)
  await admin.flushdb()
}
const after = uptime()
admin.disconnect()

// ---------------------------------------------------------------- report
const cpu = cpus()
const environment = [
  `${new Date().toISOString()}; ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  `Node ${process.version}, Redis ${redisVersion}, PostgreSQL ${pgVersion}, all on loopback`,
  `${WORKERS} requests in flight, ${rounds} round(s) × ${seconds} s per contender, each after ${warmup} s of unmeasured warm-up, interleaved (order reversed every other round), pool ${pool} per contender, TTL caches ${ttl} s, seed ${rngSeed}`,
  `uptime before: ${before}`,
  `uptime after: ${after}`,
]
const workload = `${DEFAULT_SIZES.articles.toLocaleString('en-US')} articles, ${DEFAULT_SIZES.users.toLocaleString('en-US')} users, ${DEFAULT_SIZES.categories} categories; ${100 - MIX.writeShare * 100} % reads (article + author ${MIX.reads.article * 100} %, newest 20 of a category ${MIX.reads.list * 100} %, category count ${MIX.reads.count * 100} %, profile ${MIX.reads.profile * 100} %), ${MIX.writeShare * 100} % writes (retitle ${MIX.writes.retitle * 100} %, publish/unpublish ${MIX.writes.publish * 100} %, move ${MIX.writes.move * 100} %, insert ${MIX.writes.insert * 100} %, profile edit ${MIX.writes.profile * 100} %); Zipf(0.99) keys`
const notes = [
  ...skipped.map((s) => `- not run: \`${s.name}\`: ${s.why}`),
  ...failed.map((s) => `- failed to start: \`${s.name}\`: ${s.why}`),
]
const report: Report = {
  environment,
  workload,
  notes,
  subtitle: `${DEFAULT_SIZES.articles / 1000}k articles, 95 % reads, ${WORKERS} in flight, TTL caches ${ttl} s; ${cpu.length} cores, ${before.replace(/.*load average:/, 'load')}`,
  results,
}
const markdown = renderMarkdown(report)
console.log(`\n${markdown}`)
for (const r of results) {
  if (r.anomalySamples.length) console.log(`anomalies of ${r.name}: ${r.anomalySamples.join('; ')}`)
  if (r.errorSamples.length) console.log(`errors of ${r.name}:\n  ${r.errorSamples.join('\n  ')}`)
  const client = (r.redisPerRead * r.reads + r.redisPerWrite * r.writes) / (r.reads + r.writes)
  // The server also counts commands run inside scripts, so it may count more, never fewer.
  if (r.serverRedisPerOp < 0.95 * client - 0.01)
    console.log(
      `note: ${r.name}: ${client.toFixed(2)} Redis commands per operation counted at the client, only ${r.serverRedisPerOp.toFixed(2)} at the server (INFO commandstats)`,
    )
}

publish(report)

// ---------------------------------------------------------------- verdicts
let exit = 0
const anomalies = results.filter((r) => r.anomalies > 0)
if (anomalies.length) {
  console.log(`ANOMALIES (a contender or the harness is wrong): ${anomalies.map((r) => r.name).join(', ')}`)
  exit = 1
}
if (args['self-test']) {
  const plain = results.find((r) => r.name === 'typeorm')
  const ttlCache = results.find((r) => r.name === 'typeorm-ioredis-cache')
  const ok = plain !== undefined && ttlCache !== undefined && plain.stale === 0 && ttlCache.stale > 0
  console.log(
    `checker self-test (live): no cache ${plain?.stale ?? '?'} stale of ${plain?.reads ?? '?'}, TTL cache ${ttlCache?.stale ?? '?'} stale of ${ttlCache?.reads ?? '?'}: ${ok ? 'passed' : 'FAILED'}`,
  )
  if (!ok) exit = 1
} else {
  for (const r of results) {
    if (r.family === 'no cache' && r.stale > 0) {
      console.log(`CHECKER SUSPECT: ${r.name} (no cache) shows ${r.stale} stale reads`)
      exit = 1
    }
  }
}
process.exit(exit)
