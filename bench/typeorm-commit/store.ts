import { execSync } from 'node:child_process'
import { memoryStore, type Store } from '@freshkey/core'
import type { Redis } from 'ioredis'

/**
 * The store the bench runs on: `redisStore` when it speaks the store contract v2; until then
 * (the Redis store is being rewritten) the memory store with one real Redis round trip (PING on
 * loopback) in front of every call, so each store call still costs what a Redis call costs.
 * `FK_BENCH_STORE=memory` forces the stand-in.
 */
export async function benchStore(redis: Redis): Promise<{ store: Store; label: string }> {
  if (process.env.FK_BENCH_STORE !== 'memory') {
    try {
      const { redisStore } = await import('@freshkey/redis')
      const real = redisStore(redis) as unknown as Partial<Store>
      if (typeof real.lift === 'function' && typeof real.schemes === 'function')
        return { store: real as Store, label: 'redisStore' }
    } catch {
      // The built Redis store predates the store contract v2.
    }
  }
  const inner = memoryStore() as unknown as Record<string, unknown>
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (prop === 'close' || prop === 'generation') return value.bind(target)
      return async (...args: unknown[]) => {
        await redis.ping()
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  }) as unknown as Store
  return {
    store,
    label: 'memoryStore + one Redis PING per store call (stand-in until the v2 Redis store lands)',
  }
}

/** `uptime` (load averages), for the record beside the ratios. */
export function uptime(): string {
  try {
    return execSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return 'uptime: unavailable'
  }
}
