import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

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

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${ms} ms`)
    await sleep(50)
  }
}

/** A throwaway redis-server on a loopback port, without persistence. */
export interface RedisServer {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startRedis(port?: number): Promise<RedisServer> {
  const bin = which('redis-server')
  if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)')
  const p = port ?? (await freePort())
  let proc: ChildProcess | undefined
  const ping = () => {
    try {
      return (
        execFileSync(which('redis-cli') ?? 'redis-cli', ['-p', String(p), 'ping'], { stdio: 'pipe' })
          .toString()
          .trim() === 'PONG'
      )
    } catch {
      return false
    }
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    async start() {
      proc = spawn(bin, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      })
      await waitFor(ping, 'redis-server')
    },
    async stop() {
      if (!proc || proc.exitCode !== null) return
      const exited = new Promise((r) => proc!.once('exit', r))
      proc.kill('SIGKILL')
      await exited
    },
  }
  await server.start()
  return server
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
