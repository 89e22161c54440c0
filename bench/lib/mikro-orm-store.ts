import { memoryStore, type Store } from '@freshkey/core'
import { Redis } from 'ioredis'

/**
 * The store of the MikroORM benches: Redis at REDIS_URL, or the memory store with FK_BENCH_STORE=memory
 * or while `@freshkey/redis` does not implement store contract v2 (its rewrite lands separately).
 */
export async function benchStore(): Promise<{ redis: Redis | undefined; store: Store; storeNote: string }> {
  const mod = await import('@freshkey/redis').catch(() => undefined)
  const v2 =
    typeof (mod?.RedisStore.prototype as unknown as Record<string, unknown> | undefined)?.fencePrefixes ===
    'function'
  if (process.env.REDIS_URL && v2 && process.env.FK_BENCH_STORE !== 'memory') {
    const redis = new Redis(process.env.REDIS_URL)
    return { redis, store: mod!.redisStore(redis) as unknown as Store, storeNote: '' }
  }
  const why = v2 ? 'FK_BENCH_STORE=memory' : '@freshkey/redis does not implement store contract v2 yet'
  return { redis: undefined, store: memoryStore(), storeNote: `store: memoryStore in process (${why})` }
}
