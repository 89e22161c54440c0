// BentoCache 1.6.1 as its docs set up a multi-tier cache: memory L1 + Redis L2 + Redis bus, one
// `getOrSet` per request over an ORM (TypeORM by default). Two configurations:
// - `bentocache-ttl`: TTL only, as most apps use it;
// - `bentocache-tags`: every entry tagged with the rows and categories it shows, and the app calls
//   `deleteByTag` after each write (what a careful developer writes by hand).
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { openMikroOrm } from './orm-mikro-orm.ts'
import { openPrisma } from './orm-prisma.ts'
import { openTypeOrm } from './orm-typeorm.ts'
import type { App, BaseApp, Contender, ContenderContext, Orm } from './types.ts'

export const openBase = (orm: Orm, ctx: ContenderContext): Promise<BaseApp> =>
  orm === 'typeorm' ? openTypeOrm(ctx) : orm === 'prisma' ? openPrisma(ctx) : openMikroOrm(ctx)

/** Tags (or references) of what each request shows, and what each write changes. */
export const tagsOf = {
  article: (id: number, authorId?: number) => [`article:${id}`, ...(authorId ? [`user:${authorId}`] : [])],
  list: (categoryId: number, ids: readonly number[]) => [
    `category:${categoryId}`,
    ...ids.map((id) => `article:${id}`),
  ],
  count: (categoryId: number) => [`category:${categoryId}`],
  user: (id: number) => [`user:${id}`],
}

function bentoContender(orm: Orm, tags: boolean): Contender {
  return {
    name: `bentocache-${tags ? 'tags' : 'ttl'}${orm === 'typeorm' ? '' : `@${orm}`}`,
    orm,
    family: 'peer',
    config: tags
      ? 'BentoCache 1.6.1: memory L1 (50,000 items) + Redis L2 + Redis bus, `getOrSet({ ttl: TTL, tags })`, `deleteByTag` after every write (hand-written tags: article, author, category)'
      : 'BentoCache 1.6.1: memory L1 (50,000 items) + Redis L2 + Redis bus, `getOrSet({ ttl: TTL })`, no invalidation',
    async open(ctx) {
      const base = await openBase(orm, ctx)
      const l2 = new Redis(ctx.redisUrl)
      const bus = new Redis(ctx.redisUrl)
      const bento = new BentoCache({
        default: 'app',
        prefix: ctx.namespace,
        stores: {
          app: bentostore()
            .useL1Layer(memoryDriver({ maxItems: 50_000 }))
            .useL2Layer(redisDriver({ connection: l2 }))
            .useBus(redisBusDriver({ connection: bus })),
        },
      })
      const ttl = `${ctx.ttl}s`
      const get = <T>(key: string, factory: () => Promise<T>, tagsFrom?: (value: T) => string[]) =>
        bento.getOrSet({
          key,
          ttl,
          factory: async (c: { setTags(tags: string[]): void }) => {
            const value = await factory()
            if (tags && tagsFrom) c.setTags(tagsFrom(value))
            return value
          },
        }) as Promise<T>
      const drop = async (t: string[]) => {
        if (tags) await bento.deleteByTag({ tags: t })
      }
      const app: App = {
        articleById: (id) =>
          get(
            `article:${id}`,
            () => base.articleById(id),
            (a) => tagsOf.article(id, a?.authorId),
          ),
        newestOfCategory: (c) =>
          get(
            `newest:${c}`,
            () => base.newestOfCategory(c),
            (items) =>
              tagsOf.list(
                c,
                items.map((i) => i.id),
              ),
          ),
        countOfCategory: (c) =>
          get(
            `count:${c}`,
            () => base.countOfCategory(c),
            () => tagsOf.count(c),
          ),
        profile: (id) =>
          get(
            `user:${id}`,
            () => base.profile(id),
            () => tagsOf.user(id),
          ),
        async retitle(w) {
          await base.retitle(w)
          await drop([`article:${w.id}`])
        },
        async move(w) {
          await base.move(w)
          await drop([`article:${w.id}`, `category:${w.from}`, `category:${w.to}`])
        },
        async setPublished(w) {
          await base.setPublished(w)
          await drop([`article:${w.id}`, `category:${w.categoryId}`])
        },
        async insert(a) {
          await base.insert(a)
          await drop([`category:${a.categoryId}`])
        },
        async editProfile(w) {
          await base.editProfile(w)
          await drop([`user:${w.id}`])
        },
        async close() {
          await bento.disconnectAll()
          l2.disconnect()
          bus.disconnect()
          await base.close()
        },
      }
      return app
    },
  }
}

export const bentocacheTtl = bentoContender('typeorm', false)
export const bentocacheTags = bentoContender('typeorm', true)
/** The same over the other ORMs, for `--only` (not in the default set). */
export const bentocacheVariants = (['prisma', 'mikro-orm'] as const).flatMap((orm) => [
  bentoContender(orm, false),
  bentoContender(orm, true),
])
