import { cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Redis } from 'ioredis'

/** Throughput and latency of one contender. Latencies in microseconds. */
export interface Result {
  readonly ops: number
  /** Median over rounds of ops/s. */
  readonly opsPerSec: number
  /** ops/s of each round, paired by index with the other contenders' rounds. */
  readonly perRound: readonly number[]
  readonly p50: number
  readonly p99: number
  /** CPU microseconds this process spent per operation (user + system): unaffected by waiting. */
  readonly clientCpuUs: number
  /** CPU microseconds the Redis main thread spent per operation, when `serverCpu` was given. */
  readonly serverCpuUs: number | undefined
}

export interface CompareOptions {
  /** warmupMs: milliseconds each contender runs before measuring (JIT, script cache, connection). */
  readonly warmupMs?: number
  /** Measured rounds; contenders alternate inside each round so load drift hits them alike. */
  readonly rounds?: number
  /** roundMs: milliseconds each contender runs per round. */
  readonly roundMs?: number
  /** Seconds of CPU the server has used so far (see {@link redisCpu}); read between rounds, outside the timing. */
  readonly serverCpu?: () => Promise<number>
}

async function runFor(
  fn: () => Promise<unknown>,
  ms: number,
  latencies?: number[],
): Promise<{ ops: number; elapsed: number }> {
  const start = performance.now()
  const end = start + ms
  let ops = 0
  let now = start
  // Sequential awaits: one operation in flight, as a request handler would do it.
  while (now < end) {
    const t = now
    await fn()
    now = performance.now()
    latencies?.push(now - t)
    ops++
  }
  return { ops, elapsed: now - start }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 1000
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * Runs contenders in many short, alternating, time-boxed rounds. Ratios are taken per round and
 * then the median, so a burst of load from other processes skews one round, not the result.
 */
export async function compare<K extends string>(
  contenders: Record<K, () => Promise<unknown>>,
  options: CompareOptions = {},
): Promise<Record<K, Result>> {
  const { warmupMs = 300, rounds = 15, roundMs = 150, serverCpu } = options
  const names = Object.keys(contenders) as K[]
  for (const name of names) await runFor(contenders[name], warmupMs)
  const acc = new Map<
    K,
    { ops: number; perRound: number[]; latencies: number[]; cpu: number; server: number }
  >(names.map((n) => [n, { ops: 0, perRound: [], latencies: [], cpu: 0, server: 0 }]))
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const a = acc.get(name)!
      const serverBefore = serverCpu ? await serverCpu() : 0
      const cpuBefore = process.cpuUsage()
      const { ops, elapsed } = await runFor(contenders[name], roundMs, a.latencies)
      const cpu = process.cpuUsage(cpuBefore)
      a.cpu += cpu.user + cpu.system
      if (serverCpu) a.server += (await serverCpu()) - serverBefore
      a.ops += ops
      a.perRound.push((ops / elapsed) * 1000)
    }
  }
  const out = {} as Record<K, Result>
  for (const name of names) {
    const a = acc.get(name)!
    const sorted = Float64Array.from(a.latencies).sort()
    out[name] = {
      ops: a.ops,
      opsPerSec: median(a.perRound),
      perRound: a.perRound,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      clientCpuUs: a.cpu / a.ops,
      serverCpuUs: serverCpu ? (a.server * 1e6) / a.ops : undefined,
    }
  }
  return out
}

/** Median over rounds of a's ops/s divided by b's ops/s in the same round. */
export const ratio = (a: Result, b: Result) => median(a.perRound.map((x, i) => x / b.perRound[i]!)).toFixed(2)

export const fmtOps = (n: number) => Math.round(n).toLocaleString('en-US')
export const fmtUs = (n: number) => n.toFixed(0)

/** A markdown table. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

/** CPU seconds used so far by the Redis main thread (a reading costs one INFO round trip). */
export function redisCpu(redis: Redis): () => Promise<number> {
  return async () => {
    const info = await redis.info('cpu')
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN)
    const user = field('used_cpu_user_main_thread')
    // Redis < 6.2 reports only process-wide figures.
    return Number.isNaN(user)
      ? field('used_cpu_user') + field('used_cpu_sys')
      : user + field('used_cpu_sys_main_thread')
  }
}

/** CPU microseconds per operation, client / server. */
export const fmtCpu = (r: Result) =>
  `${r.clientCpuUs.toFixed(1)} / ${r.serverCpuUs === undefined ? '?' : r.serverCpuUs.toFixed(1)}`

/** Where and when the numbers were taken. */
export async function environment(redis: Redis): Promise<string> {
  const info = await redis.info('server')
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?'
  const cpu = cpus()
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `node ${process.version}, redis ${version} on loopback, ioredis client shared by both contenders`,
  ].join('; ')
}

/** REDIS_URL, or exit with a one-line hint: benches start no server themselves. */
export function redisUrl(): string {
  const url = process.env.REDIS_URL
  if (!url) {
    console.error(
      'REDIS_URL is not set: start a redis-server (e.g. redis-server --port 6415 --save "") and set REDIS_URL',
    )
    process.exit(1)
  }
  return url
}
