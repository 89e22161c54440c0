import { type ChildProcess, fork } from 'node:child_process'
import { statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Keyspace } from '@freshkey/core/adapter'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Command, Row, WorkerConfig, WorkerState } from './fixtures/collection-worker.ts'
import { serviceUrl } from './support/services.ts'

// Several real processes on one real Redis, each holding the same collection (built packages).
const WORKER = fileURLToPath(new URL('./fixtures/collection-worker.ts', import.meta.url))
const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url))

type Request = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never

class Worker {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  #seq = 0
  readonly ready: Promise<void>

  constructor(config: WorkerConfig) {
    this.#child = fork(WORKER, [JSON.stringify(config)], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`worker exited with ${code} before ready`)))
      this.#child.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
        if (m.ready) return resolve()
        const p = this.#pending.get(m.id!)
        this.#pending.delete(m.id!)
        if (m.error) p?.reject(new Error(m.error))
        else p?.resolve(m.result)
      })
    })
  }

  send<T>(request: Request): Promise<T> {
    const id = ++this.#seq
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#child.send({ ...request, id })
    })
  }

  state(): Promise<WorkerState> {
    return this.send({ cmd: 'state' })
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return
    const exited = new Promise((r) => this.#child.once('exit', r))
    await this.send({ cmd: 'close' }).catch(() => {})
    await Promise.race([exited, sleep(3000)])
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL')
  }
}

/**
 * Polls until every worker satisfies `check` and all hold the same revision; resolves to the
 * milliseconds it took. (A process may briefly hold the newest rows under an older revision: it
 * read its tokens just before the last bump, and reloads once more.)
 */
async function everywhere(
  workers: Worker[],
  check: (s: WorkerState) => boolean,
  ms: number,
): Promise<number> {
  const started = Date.now()
  for (;;) {
    const states = await Promise.all(workers.map((w) => w.state()))
    if (states.every(check) && new Set(states.map((s) => s.revision)).size === 1) return Date.now() - started
    if (Date.now() - started > ms)
      throw new Error(`not every process converged within ${ms} ms: ${JSON.stringify(states)}`)
    await sleep(10)
  }
}

let seq = 0
const redisUrl = serviceUrl('REDIS_URL')

describe.skipIf(!redisUrl)('collection across processes (real Redis)', () => {
  let redis: Redis
  const workers: Worker[] = []
  const start = async (count: number, config: Partial<WorkerConfig> & { namespace: string }) => {
    const started = Array.from(
      { length: count },
      () => new Worker({ version: '1', pubsub: true, checkInterval: 60_000, loadDelay: 150, ...config }),
    )
    workers.push(...started)
    await Promise.all(started.map((w) => w.ready))
    return started
  }
  const newNamespace = async (rows: Row[]) => {
    const namespace = `procs-${process.pid}-${Date.now()}-${seq++}`
    for (const r of rows) await redis.hset(`${namespace}:db`, r.id, JSON.stringify(r))
    return namespace
  }
  const loads = async (namespace: string, version = '1') =>
    Number((await redis.get(`${namespace}:loads:${version}`)) ?? 0)
  const seed: Row[] = [
    { id: '1', group: 'a', title: 'one' },
    { id: '2', group: 'a', title: 'two' },
    { id: '3', group: 'b', title: 'three' },
  ]

  beforeAll(() => {
    const built = statSync(root('packages/core/dist/collection.js')).mtimeMs
    if (built < statSync(root('packages/core/src/collection.ts')).mtimeMs) {
      throw new Error('packages/core/dist is older than its sources: run `pnpm run build` first')
    }
    redis = new Redis(redisUrl!)
  })
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()))
  })
  afterAll(async () => {
    await redis.quit()
  })

  it('a change in one process reaches every process quickly, loaded by exactly one of them', async () => {
    const namespace = await newNamespace(seed)
    const procs = await start(3, { namespace })
    // Three processes started together: one loaded, two took its snapshot.
    expect(await loads(namespace)).toBe(1)
    const initial = await Promise.all(procs.map((w) => w.state()))
    expect(new Set(initial.map((s) => s.revision)).size).toBe(1)
    for (const s of initial) expect(s.rows['1']?.title).toBe('one')

    await procs[0]!.send({ cmd: 'write', row: { id: '1', group: 'b', title: 'ONE' } })
    const took = await everywhere(procs, (s) => s.rows['1']?.title === 'ONE', 5000)
    // Notice by pub/sub (the token check runs only every 60 s here), plus one 150 ms load.
    expect(took).toBeLessThan(1500)
    expect(await loads(namespace)).toBe(2)

    const states = await Promise.all(procs.map((w) => w.state()))
    expect(new Set(states.map((s) => s.revision)).size).toBe(1)
    for (const s of states) {
      expect(s.groups.a).toEqual(['2'])
      expect([...s.groups.b!].sort()).toEqual(['1', '3'])
      // Each process computed the view once per revision it held, however often it was read.
      expect(Object.values(s.viewRuns).every((n) => n === 1)).toBe(true)
      expect(s.viewRuns[s.revision!]).toBe(1)
    }

    // push() reloads everywhere without any dependency change, again with one load.
    await redis.hset(`${namespace}:db`, '4', JSON.stringify({ id: '4', group: 'c', title: 'four' }))
    const before = states[0]!.revision
    await procs[1]!.send({ cmd: 'push' })
    await everywhere(procs, (s) => s.rows['4']?.title === 'four' && s.revision !== before, 5000)
    expect(await loads(namespace)).toBe(3)
    for (const s of await Promise.all(procs.map((w) => w.state()))) {
      expect(Object.values(s.viewRuns).every((n) => n === 1)).toBe(true)
    }
  })

  it('many quick changes converge on the last one, with at most one load per revision', async () => {
    const namespace = await newNamespace(seed)
    const procs = await start(3, { namespace, loadDelay: 50 })
    for (let i = 0; i < 5; i++) {
      await procs[i % 3]!.send({ cmd: 'write', row: { id: '2', group: 'a', title: `v${i}` } })
    }
    await everywhere(procs, (s) => s.rows['2']?.title === 'v4', 5000)
    // 1 initial load + at most one per revision (5 bumps); never one per process per revision.
    expect(await loads(namespace)).toBeLessThanOrEqual(6)
  })

  it('recovers a lost bump message through the token check', async () => {
    const namespace = await newNamespace(seed)
    const [listening] = await start(1, { namespace, checkInterval: 200 })
    const [deaf] = await start(1, { namespace, checkInterval: 200, pubsub: false })
    const procs = [listening!, deaf!]
    const before = (await listening!.state()).revision

    // Drop every subscriber connection (ioredis reconnects them) and bump a token the way a bump
    // whose PUBLISH got lost would: no process receives a message for this change.
    await redis.client('KILL', 'TYPE', 'pubsub')
    await redis.hset(`${namespace}:db`, '3', JSON.stringify({ id: '3', group: 'b', title: 'THREE' }))
    await redis.set(`fk:${new Keyspace(namespace, '1').table('rows')}`, `lost-${Date.now()}`, 'EX', 3600)
    const took = await everywhere(procs, (s) => s.rows['3']?.title === 'THREE' && s.revision !== before, 5000)
    expect(took).toBeLessThan(1500)
    expect(await loads(namespace)).toBe(2)
  })

  it('the deaf process (no pub/sub at all) follows a normal change within its check interval', async () => {
    const namespace = await newNamespace(seed)
    const [deaf] = await start(1, { namespace, checkInterval: 250, pubsub: false })
    const [writer] = await start(1, { namespace })
    await writer!.send({ cmd: 'write', row: { id: '9', group: 'z', title: 'nine' } })
    const took = await everywhere([deaf!], (s) => s.rows['9']?.title === 'nine', 5000)
    expect(took).toBeLessThan(1000)
    expect(await loads(namespace)).toBe(2)
  })

  it('processes of another version never read this version’s snapshot', async () => {
    const namespace = await newNamespace(seed)
    const v1 = await start(2, { namespace, version: '1' })
    const v2 = await start(2, { namespace, version: '2' })
    // Tokens are shared by versions (same revision), snapshots are not: each version loaded once.
    expect(await loads(namespace, '1')).toBe(1)
    expect(await loads(namespace, '2')).toBe(1)
    const all = [...v1, ...v2]
    expect(new Set((await Promise.all(all.map((w) => w.state()))).map((s) => s.revision)).size).toBe(1)

    // A change made by new code reaches old code too, each version loading once for itself.
    await v2[0]!.send({ cmd: 'write', row: { id: '1', group: 'a', title: 'from v2' } })
    await everywhere(all, (s) => s.rows['1']?.title === 'from v2', 5000)
    expect(await loads(namespace, '1')).toBe(2)
    expect(await loads(namespace, '2')).toBe(2)
  })
})
