// prisma-extension-redis 5.0.0 as its README sets it up: auto-cache every read for TTL seconds,
// `auto.invalidateOnWrite` purges a model's auto-cached reads after each write to that model.
// Documented limit: results of another model that embed it (an article with its author) are not
// purged when that other model is written.
import { Redis } from 'ioredis'
import { PrismaExtensionRedis } from 'prisma-extension-redis'
import { openPrisma } from './orm-prisma.ts'
import type { Contender } from './types.ts'

export const prismaExtensionRedis: Contender = {
  name: 'prisma-extension-redis',
  orm: 'prisma',
  family: 'peer',
  scansRedis: true,
  config:
    "prisma-extension-redis 5.0.0, `type: 'STRING'`, `auto: { ttl: TTL, stale: 0, invalidateOnWrite: true }` (purges the written model's auto-cache), ioredis 5.11.1",
  async open(ctx) {
    const client = new Redis(ctx.redisUrl)
    const app = await openPrisma(ctx, {
      extend: (base) =>
        base.$extends(
          PrismaExtensionRedis({
            config: {
              type: 'STRING',
              ttl: ctx.ttl,
              stale: 0,
              auto: { ttl: ctx.ttl, stale: 0, invalidateOnWrite: true },
            },
            client,
          }),
        ),
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
