import { execSync } from 'node:child_process'
import { memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { Redis } from 'ioredis'

/** The store the bench runs on: `redisStore` on the bench's connection; `FK_BENCH_STORE=memory` for the in-process store. */
export function benchStore(redis: Redis): Promise<{ store: Store; label: string }> {
  if (process.env.FK_BENCH_STORE === 'memory')
    return Promise.resolve({ store: memoryStore(), label: 'memoryStore' })
  return Promise.resolve({ store: redisStore(redis), label: 'redisStore' })
}

/** `uptime` (load averages), for the record beside the ratios. */
export function uptime(): string {
  try {
    return execSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return 'uptime: unavailable'
  }
}
