import { memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'

/** The store of the MikroORM benches: Redis at REDIS_URL, or the memory store with FK_BENCH_STORE=memory. */
export async function benchStore(): Promise<{ redis: Redis | undefined; store: Store; storeNote: string }> {
  if (process.env.REDIS_URL && process.env.FK_BENCH_STORE !== 'memory') {
    const redis = new Redis(process.env.REDIS_URL)
    return { redis, store: redisStore(redis), storeNote: 'store: redisStore on REDIS_URL' }
  }
  return {
    redis: undefined,
    store: memoryStore(),
    storeNote: 'store: memoryStore in process (FK_BENCH_STORE=memory or no REDIS_URL)',
  }
}
