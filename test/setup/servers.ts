import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

// Servers started here die with the process that started them, even when a test run is killed
// before its teardown (a timeout, Ctrl-C): no redis-server is left behind on the machine.
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

export function which(bin: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    const p = join(dir, bin)
    if (dir && existsSync(p)) return p
  }
  return undefined
}

export async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${ms} ms`)
    await sleep(50)
  }
}

/** A throwaway redis-server on a loopback port (no persistence unless `dir` is given). */
export interface RedisServer {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
  start(): Promise<void>
  /** The server process is running. */
  readonly running: boolean
}

/** Options of {@link startRedis}. */
export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. `['--maxmemory', '2mb']`. */
  readonly args?: readonly string[]
  /** Working directory (RDB/AOF files); without it nothing is persisted. */
  readonly dir?: string
  /** Arguments of redis-cli to reach it (e.g. `['--user', 'x', '--pass', 'y']`). */
  readonly cli?: readonly string[]
}

const redisCli = () => which('redis-cli') ?? 'redis-cli'

/** Runs redis-cli against a loopback port; resolves to its trimmed output ('' on failure). */
export function cli(port: number, ...args: string[]): string {
  try {
    return execFileSync(redisCli(), ['-p', String(port), ...args], { stdio: 'pipe', timeout: 10_000 })
      .toString()
      .trim()
  } catch {
    return ''
  }
}

export async function startRedis(port?: number, options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = which('redis-server')
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const p = port ?? (await freePort())
  let proc: ChildProcess | undefined
  const ping = () => cli(p, ...(options.cli ?? []), 'ping') === 'PONG'
  const persistence = options.dir ? ['--dir', options.dir] : ['--save', '', '--appendonly', 'no']
  const server: RedisServer = {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    get running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null
    },
    async start() {
      proc = track(
        spawn(bin, ['--port', String(p), '--bind', '127.0.0.1', ...persistence, ...(options.args ?? [])], {
          stdio: 'ignore',
        }),
      )
      await waitFor(ping, 'redis-server')
    },
    async stop() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc!.once('exit', r))
      proc.kill('SIGKILL')
      await exited
    },
  }
  await server.start()
  return server
}

/** A free loopback port whose Cluster bus port (+10000) is free too. */
export async function freeClusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort()
    if (p + 10_000 > 65_535) continue
    const busFree = await new Promise<boolean>((resolve) => {
      const srv = createServer()
      srv.unref()
      srv.once('error', () => resolve(false))
      srv.listen(p + 10_000, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    if (busFree) return p
  }
}

/** A throwaway Redis Cluster on loopback ports (no persistence). */
export interface RedisClusterServer {
  /** `host:port` of every node, masters first. */
  readonly nodes: readonly string[]
  readonly ports: readonly number[]
  /** Ports of the current masters (asks the cluster). */
  masters(): number[]
  /** The master that serves a slot now. */
  masterOf(slot: number): number | undefined
  /** Kills one node (SIGKILL). */
  kill(port: number): Promise<void>
  /** Starts a killed node again (it rejoins with its nodes.conf). */
  restart(port: number): Promise<void>
  /** Waits until every live node reports cluster_state:ok and a master for every slot. */
  settle(ms?: number): Promise<void>
  stop(): Promise<void>
}

/** Starts `masters` masters with `replicas` replicas each and joins them (`redis-cli --cluster create`). */
export async function startCluster(
  options: { masters?: number; replicas?: number; nodeTimeout?: number } = {},
): Promise<RedisClusterServer> {
  const bin = which('redis-server')
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const masters = options.masters ?? 3
  const replicas = options.replicas ?? 1
  const nodeTimeout = options.nodeTimeout ?? 1000
  const dir = mkdtempSync(join(tmpdir(), 'fk-cluster-'))
  const ports: number[] = []
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freeClusterPort())
  const procs = new Map<number, ChildProcess>()
  const launch = async (port: number) => {
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir, { recursive: true })
    const proc = track(
      spawn(
        bin,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          nodeDir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeout),
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-replica-validity-factor',
          '0',
        ],
        { stdio: 'ignore' },
      ),
    )
    procs.set(port, proc)
    await waitFor(() => cli(port, 'ping') === 'PONG', 'cluster node')
  }
  await Promise.all(ports.map(launch))
  execFileSync(
    redisCli(),
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ],
    { stdio: 'pipe', timeout: 60_000 },
  )
  const alive = () =>
    ports.filter((p) => {
      const proc = procs.get(p)
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null
    })
  const masterPorts = () => {
    const out = new Set<number>()
    for (const p of alive()) {
      for (const line of cli(p, 'cluster', 'nodes').split('\n')) {
        const f = line.split(' ')
        if (f[2]?.includes('master') && !f[2].includes('fail') && f[8] !== undefined)
          out.add(Number(f[1]!.split(':')[1]!.split('@')[0]))
      }
      break
    }
    return [...out]
  }
  const server: RedisClusterServer = {
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    ports,
    masters: masterPorts,
    masterOf(slot) {
      for (const p of alive()) {
        for (const line of cli(p, 'cluster', 'nodes').split('\n')) {
          const f = line.split(' ')
          if (!f[2]?.includes('master') || f[2].includes('fail')) continue
          for (const range of f.slice(8)) {
            const [a, b] = range.split('-').map(Number)
            if (a !== undefined && slot >= a && slot <= (b ?? a))
              return Number(f[1]!.split(':')[1]!.split('@')[0])
          }
        }
        return undefined
      }
      return undefined
    },
    async kill(port) {
      const proc = procs.get(port)
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGKILL')
      await exited
    },
    async restart(port) {
      await launch(port)
    },
    async settle(ms = 30_000) {
      await waitFor(
        () =>
          alive().every((p) => {
            const info = cli(p, 'cluster', 'info')
            return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384')
          }) &&
          masterPorts().length >= masters &&
          masterPorts().every((p) => alive().includes(p)),
        'cluster',
        ms,
      )
    },
    async stop() {
      await Promise.all(ports.map((p) => server.kill(p)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  // A fresh Cluster on 2 busy cores can take over 30 s to agree on its slots; the hooks allow 60.
  await server.settle(50_000)
  return server
}

/** A master with replicas watched by Sentinels, on loopback ports. */
export interface SentinelSet {
  readonly name: string
  readonly master: RedisServer
  readonly replicas: readonly RedisServer[]
  readonly sentinels: readonly { host: string; port: number }[]
  /** Where the Sentinels write their logs. */
  readonly dir: string
  /** Port of the current master, as the first Sentinel reports it. */
  masterPort(): number
  stop(): Promise<void>
}

/** Starts one master, `replicas` replicas and `sentinels` Sentinels (quorum 1, fast failure detection). */
export async function startSentinels(
  options: {
    replicas?: number
    sentinels?: number
    replicaArgs?: (i: number) => string[]
    /** The port replica i replicates from (default: the master's), e.g. a proxy in front of it. */
    upstream?: (i: number, masterPort: number) => Promise<number> | number
    downAfterMs?: number
  } = {},
): Promise<SentinelSet> {
  const sentinelBin = which('redis-sentinel') ?? which('redis-server')
  if (!sentinelBin) throw new Error('redis-sentinel is not installed (apt-get install -y redis-sentinel)')
  const dir = mkdtempSync(join(tmpdir(), 'fk-sentinel-'))
  const name = 'fkmaster'
  mkdirSync(join(dir, 'm'), { recursive: true })
  // No diskless-sync delay: a replica that must resync after a failover is back in milliseconds
  // instead of 5 s (Redis' default waits for more replicas before streaming).
  const fast = ['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0']
  const master = await startRedis(undefined, { dir: join(dir, 'm'), args: fast })
  const replicas: RedisServer[] = []
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    const d = join(dir, `r${i}`)
    mkdirSync(d, { recursive: true })
    const upstreamPort = options.upstream ? await options.upstream(i, master.port) : master.port
    replicas.push(
      await startRedis(undefined, {
        dir: d,
        args: [
          ...fast,
          '--replicaof',
          '127.0.0.1',
          String(upstreamPort),
          ...(options.replicaArgs?.(i) ?? []),
        ],
      }),
    )
  }
  // Online (initial sync done), not only connected: before that a replica acknowledges nothing (WAIT).
  await waitFor(
    () => (cli(master.port, 'info', 'replication').match(/state=online/g) ?? []).length === replicas.length,
    'replicas',
    30_000,
  )
  const sentinels: { host: string; port: number }[] = []
  const procs: ChildProcess[] = []
  for (let i = 0; i < (options.sentinels ?? 1); i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `logfile ${join(dir, `sentinel-${port}.log`)}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 5`,
        '',
      ].join('\n'),
    )
    const args = sentinelBin.endsWith('redis-sentinel') ? [conf] : [conf, '--sentinel']
    procs.push(track(spawn(sentinelBin, args, { stdio: 'ignore' })))
    sentinels.push({ host: '127.0.0.1', port })
    await waitFor(() => cli(port, 'ping') === 'PONG', 'sentinel')
  }
  const masterPort = () => {
    const out = cli(sentinels[0]!.port, 'sentinel', 'get-master-addr-by-name', name).split('\n')
    return Number(out[1])
  }
  await waitFor(
    () =>
      cli(sentinels[0]!.port, 'sentinel', 'replicas', name)
        .split('\n')
        .filter((l) => l === 'ip').length === replicas.length,
    'sentinel discovering replicas',
  )
  return {
    name,
    master,
    replicas,
    sentinels,
    dir,
    masterPort,
    async stop() {
      for (const p of procs) p.kill('SIGKILL')
      await Promise.all([master.stop(), ...replicas.map((r) => r.stop())])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const PG_BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin']

/** A throwaway PostgreSQL cluster on a loopback port, trust auth, as the `postgres` OS user when root. */
export interface PostgresServer {
  readonly url: string
  stop(): Promise<void>
}

export async function startPostgres(): Promise<PostgresServer> {
  const initdb = which('initdb', PG_BIN)
  const pgCtl = which('pg_ctl', PG_BIN)
  if (!initdb || !pgCtl) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)')
  const asRoot = process.getuid?.() === 0
  const run = (bin: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' })
      : execFileSync(bin, args, { stdio: 'pipe' })
  const dir = mkdtempSync(join(tmpdir(), 'fk-pg-'))
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const port = await freePort()
  run(initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'])
  run(pgCtl, [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '60',
    'start',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
  ])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
