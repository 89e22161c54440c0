// The ORMs' own result caches, as their docs configure them: time-to-live only, nothing is
// invalidated by writes.
import { MemoryCacheAdapter } from '@mikro-orm/core'
import { Redis } from 'ioredis'
import { RedisCacheAdapter } from 'mikro-orm-cache-adapter-redis'
import { openMikroOrm } from './orm-mikro-orm.ts'
import { openTypeOrm } from './orm-typeorm.ts'
import type { Contender } from './types.ts'

export const typeormIoredisCache: Contender = {
  name: 'typeorm-ioredis-cache',
  orm: 'typeorm',
  family: 'peer',
  config:
    "TypeORM 1.1.1 built-in query cache, `cache: { type: 'ioredis', duration: TTL }` (ioredis 5.11.1), `find({ cache: true })`",
  async open(ctx) {
    return openTypeOrm(ctx, {
      cache: { type: 'ioredis', options: ctx.redisUrl, duration: ctx.ttl * 1000 },
      readCache: true,
    })
  },
}

export const mikroOrmMemoryCache: Contender = {
  name: 'mikro-orm-memory-cache',
  orm: 'mikro-orm',
  family: 'peer',
  config:
    'MikroORM 7.2.1 built-in result cache (`MemoryCacheAdapter`, in-process: @mikro-orm ships no Redis one), `resultCache.expiration: TTL`, `cache: true`',
  async open(ctx) {
    return openMikroOrm(ctx, {
      resultCache: { adapter: MemoryCacheAdapter, expiration: ctx.ttl * 1000 },
      readCache: true,
    })
  },
}

export const mikroOrmRedisCache: Contender = {
  name: 'mikro-orm-redis-cache',
  orm: 'mikro-orm',
  family: 'peer',
  config:
    'MikroORM 7.2.1 result cache on Redis through the community `mikro-orm-cache-adapter-redis` 4.0.0 (`RedisCacheAdapter`), `expiration: TTL`, `cache: true`',
  async open(ctx) {
    const client = new Redis(ctx.redisUrl)
    const app = await openMikroOrm(ctx, {
      resultCache: { adapter: RedisCacheAdapter as never, options: { client }, expiration: ctx.ttl * 1000 },
      readCache: true,
    })
    return {
      ...app,
      async close() {
        await app.close()
        client.disconnect()
      },
    }
  },
}
