// async-cache-dedupe 3.4.0 on Redis with references: each cached function returns references to
// the rows and categories it shows, and the app calls `invalidateAll(references)` after each
// write, as its README's invalidation section describes. Over TypeORM by default.
import { createCache } from 'async-cache-dedupe'
import { Redis } from 'ioredis'
import { openBase, tagsOf } from './bentocache.ts'
import type { App, ArticleView, Contender, ListItem, Orm, UserView } from './types.ts'

function dedupeContender(orm: Orm): Contender {
  return {
    name: `async-cache-dedupe${orm === 'typeorm' ? '' : `@${orm}`}`,
    orm,
    family: 'peer',
    config:
      "async-cache-dedupe 3.4.0, `storage: { type: 'redis', options: { invalidation: { referencesTTL: TTL } } }`, `ttl: TTL`, references per result, `invalidateAll(refs)` after every write",
    async open(ctx) {
      const base = await openBase(orm, ctx)
      const client = new Redis(ctx.redisUrl)
      const cache = createCache({
        ttl: ctx.ttl,
        storage: { type: 'redis', options: { client, invalidation: { referencesTTL: ctx.ttl } } },
      })
        .define(
          'article',
          { references: (id: number, _k: string, a: ArticleView | null) => tagsOf.article(id, a?.authorId) },
          (id: number) => base.articleById(id),
        )
        .define(
          'newest',
          {
            references: (c: number, _k: string, items: ListItem[]) =>
              tagsOf.list(
                c,
                items.map((i) => i.id),
              ),
          },
          (c: number) => base.newestOfCategory(c),
        )
        .define('count', { references: (c: number) => tagsOf.count(c) }, (c: number) =>
          base.countOfCategory(c),
        )
        .define('user', { references: (id: number) => tagsOf.user(id) }, (id: number) => base.profile(id))
      const c = cache as unknown as {
        article(id: number): Promise<ArticleView | null>
        newest(c: number): Promise<ListItem[]>
        count(c: number): Promise<number>
        user(id: number): Promise<UserView | null>
        invalidateAll(refs: string[]): Promise<void>
      }
      const app: App = {
        articleById: (id) => c.article(id),
        newestOfCategory: (cat) => c.newest(cat),
        countOfCategory: (cat) => c.count(cat),
        profile: (id) => c.user(id),
        async retitle(w) {
          await base.retitle(w)
          await c.invalidateAll([`article:${w.id}`])
        },
        async move(w) {
          await base.move(w)
          await c.invalidateAll([`article:${w.id}`, `category:${w.from}`, `category:${w.to}`])
        },
        async setPublished(w) {
          await base.setPublished(w)
          await c.invalidateAll([`article:${w.id}`, `category:${w.categoryId}`])
        },
        async insert(a) {
          await base.insert(a)
          await c.invalidateAll([`category:${a.categoryId}`])
        },
        async editProfile(w) {
          await base.editProfile(w)
          await c.invalidateAll([`user:${w.id}`])
        },
        async close() {
          client.disconnect()
          await base.close()
        },
      }
      return app
    },
  }
}

export const asyncCacheDedupe = dedupeContender('typeorm')
export const asyncCacheDedupeVariants = (['prisma', 'mikro-orm'] as const).map(dedupeContender)
