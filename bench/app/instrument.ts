// Counts Redis commands and database queries per operation, at the clients.
//
// Every operation the workload runs is executed inside `counting(counter, fn)`; an
// AsyncLocalStorage carries the counter into everything the operation starts (ORM, cache library,
// background refreshes it spawns), and two prototype patches increment it:
// - ioredis `Redis.prototype.sendCommand` and `Pipeline.prototype.sendCommand` (every command,
//   also inside pipelines and MULTI; an EVALSHA counts as one command), for every ioredis copy the
//   contenders load. A pipelined command counts when it is queued, in the caller's context: an
//   auto-pipeline is sent later from whichever operation's tick flushed it, and counting there
//   gave that operation the commands of all the others (every write's bump went to a read);
// - node-postgres `Client.prototype.query` (every statement, BEGIN/COMMIT included), for every pg
//   copy the three ORMs load (MikroORM pins its own), with pg-pool's connect callbacks bound to
//   the caller's context (see bindPoolCallbacks). Prisma batches concurrent `findUnique` calls
//   into one query (its dataloader), so it can show fewer queries than requests.
// Work outside `counting` (setup, seeding, the harness's own INFO calls) is not counted. The run
// also reads `INFO commandstats` around every round as a server-side cross-check of the total.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Counter {
  ops: number
  redis: number
  db: number
}

export const newCounter = (): Counter => ({ ops: 0, redis: 0, db: 0 })

const als = new AsyncLocalStorage<Counter>()

/** Runs `fn` with `counter` receiving its Redis commands and database queries. */
export function counting<T>(counter: Counter, fn: () => Promise<T>): Promise<T> {
  return als.run(counter, fn)
}

const require = createRequire(import.meta.url)
const patched = new Set<unknown>()

function patch(
  proto: Record<string, unknown>,
  method: string,
  field: 'redis' | 'db',
  counts: (first: { pipelineIndex?: number } | undefined) => boolean = () => true,
): void {
  if (patched.has(proto)) return
  patched.add(proto)
  const original = proto[method] as (...args: unknown[]) => unknown
  proto[method] = function (this: unknown, ...args: unknown[]) {
    const c = als.getStore()
    if (c && counts(args[0] as { pipelineIndex?: number } | undefined)) c[field]++
    return original.apply(this, args)
  }
}

/**
 * pg-pool hands a freed client to a waiting `connect(callback)` from the releasing query's socket
 * callback, so the waiter's callback (and `pool.query`, which is built on it) would run outside
 * the waiter's async context and its queries would go uncounted. Binding the callback to the
 * caller's context fixes the attribution; nothing else changes.
 */
function bindPoolCallbacks(proto: Record<string, unknown>): void {
  if (patched.has(proto)) return
  patched.add(proto)
  const connect = proto.connect as (...args: unknown[]) => unknown
  proto.connect = function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1
    if (last >= 0 && typeof args[last] === 'function')
      args[last] = AsyncResource.bind(args[last] as () => void)
    return connect.apply(this, args)
  }
}

/** The directory of the installed package `name` (walks up from its entry point). */
function packageDir(name: string): string | undefined {
  let dir: string
  try {
    dir = dirname(fileURLToPath(import.meta.resolve(name)))
  } catch {
    return undefined
  }
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) return dir
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/** The copy of `name` that the package `from` resolves (each ORM may bring its own pg). */
function resolveFrom(from: string, name: string): string | undefined {
  const base = packageDir(from)
  if (!base) return undefined
  try {
    return realpathSync(createRequire(join(base, 'package.json')).resolve(name))
  } catch {
    return undefined
  }
}

/** Installs the counting patches once, on every copy of ioredis and pg the contenders use. */
export function installCounters(): void {
  const redisCopies = new Set(
    [
      realpathSync(require.resolve('ioredis')),
      resolveFrom('typeorm', 'ioredis'),
      resolveFrom('bentocache', 'ioredis'),
      resolveFrom('mikro-orm-cache-adapter-redis', 'ioredis'),
      resolveFrom('@freshkey/redis', 'ioredis'),
    ].filter((p): p is string => p !== undefined),
  )
  for (const path of redisCopies) {
    const mod = require(path) as {
      Redis?: { prototype: Record<string, unknown> }
      Pipeline?: { prototype: Record<string, unknown> }
    }
    if (mod.Pipeline) patch(mod.Pipeline.prototype, 'sendCommand', 'redis')
    // A pipelined command reaches Redis.sendCommand again when the pipeline is sent; counted once.
    if (mod.Redis)
      patch(mod.Redis.prototype, 'sendCommand', 'redis', (command) => command?.pipelineIndex === undefined)
  }
  const pgCopies = new Set(
    [
      realpathSync(require.resolve('pg')),
      resolveFrom('typeorm', 'pg'),
      resolveFrom('@prisma/adapter-pg', 'pg'),
      resolveFrom('@mikro-orm/postgresql', 'pg'),
    ].filter((p): p is string => p !== undefined),
  )
  for (const path of pgCopies) {
    const mod = require(path) as {
      Client: { prototype: Record<string, unknown> }
      Pool: { prototype: Record<string, unknown> }
    }
    patch(mod.Client.prototype, 'query', 'db')
    bindPoolCallbacks(mod.Pool.prototype)
  }
}
