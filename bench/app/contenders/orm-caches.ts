// The ORMs' own result caches, as their docs configure them: time-to-live only, nothing is
// invalidated by writes.
import { MemoryCacheAdapter } from '@mikro-orm/core'
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
    "MikroORM 7.2.1 result cache on Redis through the community `mikro-orm-cache-adapter-redis` 4.0.0 (`RedisCacheAdapter`, connection options: the README's `client` instance hangs on MikroORM 7), `expiration: TTL`, `cache: true`",
  async open(ctx) {
    // The adapter's README passes `options: { client: new Redis() }`; on MikroORM 7 the config merge
    // deep-copies `resultCache.options`, client included, and the copy's commands never resolve
    // (the first cached read hangs). Connection options, from which the adapter makes its own
    // client, work.
    const url = new URL(ctx.redisUrl)
    const options = {
      host: url.hostname,
      port: Number(url.port || 6379),
      db: Number(url.pathname.slice(1) || 0),
    }
    return openMikroOrm(ctx, {
      resultCache: { adapter: RedisCacheAdapter as never, options, expiration: ctx.ttl * 1000 },
      readCache: true,
    })
  },
}
