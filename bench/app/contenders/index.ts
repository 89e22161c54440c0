// Every contender, in the order rounds run them.
import { asyncCacheDedupe, asyncCacheDedupeVariants } from './async-cache-dedupe.ts'
import { mikroOrmNoCache, prismaNoCache, typeormNoCache } from './baselines.ts'
import { bentocacheTags, bentocacheTtl, bentocacheVariants } from './bentocache.ts'
import { freshkeyMikroOrmNative, freshkeyMikroOrmNear, freshkeyMikroOrmWrap } from './freshkey-mikro-orm.ts'
import { freshkeyPrismaCached, freshkeyPrismaNear, freshkeyPrismaWrap } from './freshkey-prisma.ts'
import {
  freshkeyTypeormNative,
  freshkeyTypeormNativeNear,
  freshkeyTypeormNear,
  freshkeyTypeormWrap,
} from './freshkey-typeorm.ts'
import { mikroOrmMemoryCache, mikroOrmRedisCache, typeormIoredisCache } from './orm-caches.ts'
import { prismaExtensionRedis } from './prisma-extension-redis.ts'
import type { Contender, Orm } from './types.ts'

/**
 * The default set, grouped by ORM with the no-cache baseline first, so that within a round every
 * contender runs close in time to the baseline its ratio is taken against.
 */
export const contenders: readonly Contender[] = [
  typeormNoCache,
  freshkeyTypeormNative,
  freshkeyTypeormWrap,
  freshkeyTypeormNear,
  typeormIoredisCache,
  bentocacheTtl,
  bentocacheTags,
  asyncCacheDedupe,
  prismaNoCache,
  freshkeyPrismaCached,
  freshkeyPrismaWrap,
  freshkeyPrismaNear,
  prismaExtensionRedis,
  mikroOrmNoCache,
  freshkeyMikroOrmNative,
  freshkeyMikroOrmWrap,
  freshkeyMikroOrmNear,
  mikroOrmMemoryCache,
  mikroOrmRedisCache,
]

/** Also runnable with `--only` (the ORM-independent peers over the other two ORMs). */
export const extraContenders: readonly Contender[] = [
  freshkeyTypeormNativeNear,
  ...bentocacheVariants,
  ...asyncCacheDedupeVariants,
]

export const baselineOf: Record<Orm, Contender> = {
  typeorm: typeormNoCache,
  prisma: prismaNoCache,
  'mikro-orm': mikroOrmNoCache,
}
