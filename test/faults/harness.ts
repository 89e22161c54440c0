import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const actor = fileURLToPath(new URL('./fixtures/actor.ts', import.meta.url))

type Target =
  | { url: string }
  | { sentinels: { host: string; port: number }[]; name: string }
  | { cluster: string[] }

/** One fault scenario: a writer and a reader process on the same rows, the truth in PostgreSQL. */
export interface Scenario {
  readonly name: string
  readonly databaseUrl: string
  readonly target: Target
  /** Durable bumps for both processes. */
  readonly replicas?: number
  /** The processes build their own ioredis client with these options and hand it to redisStore. */
  readonly clientOptions?: Record<string, unknown>
  readonly tables?: number
  readonly rows?: number
  /** durationMs: how long both processes run once both are connected. Default 9000. */
  readonly durationMs?: number
  /** faultAt: milliseconds after the start (both connected) when the fault is injected. Default 2000. */
  readonly faultAt?: number
  /** Injects the fault; resolves when it is over (healed) or, for a lasting fault, at once. */
  fault?(): Promise<void>
  /** writes per second. Default 100. */
  readonly rate?: number
}

type Event = { t: number; k: 'hit' | 'fill' | 'load' | 'stale' | 'error' | 'write' | 'dbfail' }
interface Summary {
  role: string
  configError?: string
  stats?: Record<string, number>
  events: Event[]
  launched: number
  ready: number
  generation: string
}

/** What a scenario measured. Times in milliseconds. */
export interface FaultReport {
  readonly scenario: string
  readonly writes: number
  readonly failedWrites: number
  readonly reads: number
  /** Reads that started after a write returned and got older data. Must be 0. */
  readonly staleReads: number
  readonly readErrors: number
  readonly hits: number
  /** How long the fault lasted (injection to healed, e.g. until the failover completed). */
  readonly faultMs: number
  /** Time from the end of the fault until the reader stored a value again (the cache works again). */
  readonly recoveryMs: number | undefined
  /** Time from the end of the fault until the reader's next cache hit. */
  readonly firstHitMs: number | undefined
  /** The longest time, from the fault on, in which the reader neither hit nor stored a value. */
  readonly outageMs: number
  /** Loads (misses and bypasses) from the fault to one second after recovery, beyond the rate before the fault. */
  readonly missesCaused: number
  readonly loadsPerSecondBefore: number
  readonly configErrors: string[]
  readonly writer: Record<string, number> | undefined
  readonly reader: Record<string, number> | undefined
}

/** Runs a scenario and returns (and prints, and saves under $TMPDIR/fk-faults) its figures. */
export async function runScenario(s: Scenario): Promise<FaultReport> {
  const tables = Array.from(
    { length: s.tables ?? 4 },
    (_, i) => `f_${s.name.replace(/\W/g, '_')}_${process.pid}_${i}`,
  )
  const rows = s.rows ?? 10
  const db = new pg.Client({ connectionString: s.databaseUrl })
  await db.connect()
  for (const t of tables) {
    for (const name of [t, `${t}_ack`]) {
      await db.query(`DROP TABLE IF EXISTS ${name}`)
      await db.query(`CREATE TABLE ${name} (id int PRIMARY KEY, version int NOT NULL)`)
      await db.query(`INSERT INTO ${name} SELECT g, 0 FROM generate_series(1, ${rows}) g`)
    }
  }
  const duration = s.durationMs ?? 9000
  const base = {
    target: s.target,
    replicas: s.replicas,
    clientOptions: s.clientOptions,
    namespace: `fault-${s.name}-${process.pid}-${Date.now()}`,
    databaseUrl: s.databaseUrl,
    tables,
    rows,
    rate: s.rate ?? 100,
  }
  // Both processes start and connect first (slow on a loaded machine); the clock starts when both are ready.
  const spawned = (['writer', 'reader'] as const).map((role) => {
    const child = spawn(process.execPath, [actor], {
      env: { ...process.env, FK_FAULT: JSON.stringify({ ...base, role }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    let onReady: () => void
    const ready = new Promise<void>((r) => {
      onReady = r
    })
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('"ready":true')) onReady()
    })
    const done = new Promise<Summary>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (code) => {
        const line = out.trim().split('\n').at(-1)
        try {
          if (code !== 0 || !line) throw new Error(`${role} exited with ${code}: ${out.slice(-500)}`)
          resolve(JSON.parse(line) as Summary)
        } catch (error) {
          reject(error)
        }
      })
    })
    return { child, ready, done }
  })
  await Promise.race([
    Promise.all(spawned.map((p) => p.ready)),
    Promise.all(spawned.map((p) => p.done)).then(() => {
      throw new Error('a scenario process exited before it was ready')
    }),
  ])
  const start = Date.now()
  const stopAt = start + duration
  for (const p of spawned) p.child.stdin!.end(`${JSON.stringify({ stopAt })}\n`)
  const children = Promise.all(spawned.map((p) => p.done))
  const faultAt = start + (s.faultAt ?? 2000)
  await new Promise((r) => setTimeout(r, Math.max(0, faultAt - Date.now())))
  const faultTime = Date.now()
  await s.fault?.()
  const healed = Date.now()
  const [writer, reader] = (await children) as [Summary, Summary]
  await db.end()

  const ev = (sum: Summary, k: Event['k']) => sum.events.filter((e) => e.k === k)
  const loadsOf = (from: number, to: number) =>
    reader.events.filter((e) => (e.k === 'fill' || e.k === 'load') && e.t >= from && e.t < to).length
  const steadyFrom = start + 500
  const before = loadsOf(steadyFrom, faultTime) / Math.max(0.001, (faultTime - steadyFrom) / 1000)
  const fill = reader.events.find((e) => e.k === 'fill' && e.t >= healed)
  const hit = reader.events.find((e) => e.k === 'hit' && e.t >= healed)
  const windowEnd = (fill?.t ?? stopAt) + 1000
  let outage = 0
  let lastOk = faultTime
  for (const e of reader.events) {
    if (e.t < faultTime || (e.k !== 'hit' && e.k !== 'fill')) continue
    outage = Math.max(outage, e.t - lastOk)
    lastOk = e.t
  }
  outage = Math.max(outage, stopAt - lastOk)
  const caused = Math.max(
    0,
    Math.round(loadsOf(faultTime, windowEnd) - (before * (windowEnd - faultTime)) / 1000),
  )
  const report: FaultReport = {
    scenario: s.name,
    writes: ev(writer, 'write').length,
    failedWrites: ev(writer, 'dbfail').length,
    reads: reader.events.filter((e) => e.k !== 'write' && e.k !== 'dbfail').length,
    staleReads: ev(reader, 'stale').length,
    readErrors: ev(reader, 'error').length,
    hits: ev(reader, 'hit').length,
    faultMs: healed - faultTime,
    recoveryMs: fill ? fill.t - healed : undefined,
    firstHitMs: hit ? hit.t - healed : undefined,
    outageMs: outage,
    missesCaused: caused,
    loadsPerSecondBefore: Math.round(before),
    configErrors: [writer.configError, reader.configError].filter((e): e is string => e !== undefined),
    writer: writer.stats,
    reader: reader.stats,
  }
  const dir = join(tmpdir(), 'fk-faults')
  mkdirSync(dir, { recursive: true })
  const perSecond = (sum: Summary, k: Event['k']) => {
    const out: number[] = []
    for (const e of sum.events)
      if (e.k === k) out[Math.floor((e.t - start) / 1000)] = (out[Math.floor((e.t - start) / 1000)] ?? 0) + 1
    return Array.from(out, (n) => n ?? 0)
  }
  const timeline = {
    writesPerSecond: perSecond(writer, 'write'),
    hitsPerSecond: perSecond(reader, 'hit'),
    fillsPerSecond: perSecond(reader, 'fill'),
    loadsPerSecond: perSecond(reader, 'load'),
  }
  writeFileSync(
    join(dir, `${s.name}.json`),
    JSON.stringify(
      { ...report, faultAtMs: faultTime - start, healedAtMs: healed - start, timeline },
      null,
      2,
    ),
  )
  const { writer: _w, reader: _r, ...brief } = report
  console.log(`[fault] ${JSON.stringify(brief)}`)
  return report
}
