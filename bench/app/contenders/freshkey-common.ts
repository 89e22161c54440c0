// What the freshkey contenders share: the instance, and the `fk.wrap` app with automatic
// dependencies (one `fk.wrap(key, loader)` per request; the adapter records what the loader read).
import { createFreshkey, type Freshkey } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { App, BaseApp, ContenderContext } from './types.ts'

/** Entries of the near cache (in-process) of the `-near` contenders. */
export const NEAR_ENTRIES = 50_000

export function newFreshkey(ctx: ContenderContext, options: { near?: boolean } = {}): Freshkey {
  return createFreshkey({
    store: redisStore(ctx.redisUrl),
    namespace: ctx.namespace,
    logger: false,
    ...(options.near ? { nearCache: { maxEntries: NEAR_ENTRIES } } : {}),
  })
}

/**
 * The blog's reads through `fk.wrap`; writes go straight to the ORM, whose freshkey adapter bumps
 * the tokens after each commit (nothing here invalidates by hand).
 */
export function freshkeyWrapApp(fk: Freshkey, base: BaseApp, close: () => Promise<void>): App {
  return {
    articleById: (id) => fk.wrap(['article', id], () => base.articleById(id)),
    newestOfCategory: (categoryId) =>
      fk.wrap(['newest', categoryId], () => base.newestOfCategory(categoryId)),
    countOfCategory: (categoryId) => fk.wrap(['count', categoryId], () => base.countOfCategory(categoryId)),
    profile: (id) => fk.wrap(['profile', id], () => base.profile(id)),
    retitle: (w) => base.retitle(w),
    move: (w) => base.move(w),
    setPublished: (w) => base.setPublished(w),
    insert: (a) => base.insert(a),
    editProfile: (w) => base.editProfile(w),
    async close() {
      reportStats(fk)
      await close()
    },
  }
}

/** FK_BENCH_STATS=1 prints each contender's counters at close: where its time goes. */
export function reportStats(fk: Freshkey): void {
  if (process.env.FK_BENCH_STATS) console.error(`[stats] ${fk.namespace} ${JSON.stringify(fk.stats())}`)
}
