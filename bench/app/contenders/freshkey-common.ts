// What the freshkey contenders share: the instance, and the `fk.wrap` app.
//
// ─── API CHANGE POINTS ────────────────────────────────────────────────────────────────────────
// freshkey's API is being rewritten. Every line that changes when it lands is marked `// NEW API:`
// with what replaces it. In this file:
//   1. `newFreshkey`: `nearCache: { maxEntries }` becomes a real option (today it is passed
//      through a cast and ignored, and `nearCacheUnavailable()` makes the near contenders skip).
//   2. `freshkeyWrapApp`: today's hand-written deps (row / scope deps, and the two-step reads they
//      force: article then author, ids then members) become one `fk.wrap(key, loader)` per
//      request with automatic dependencies: see the NEW API comment on each read.
// ───────────────────────────────────────────────────────────────────────────────────────────────
import { createFreshkey, dep, type Freshkey, type FreshkeyOptions, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { App, BaseApp, ContenderContext } from './types.ts'

/** Entries of the near cache (in-process) of the `-near` contenders. */
export const NEAR_ENTRIES = 50_000

/** The scope today's wrap contenders declare (the list and count filter). */
export const ARTICLE_SCOPE = ['categoryId', 'published'] as const

export function newFreshkey(ctx: ContenderContext, options: { near?: boolean } = {}): Freshkey {
  const config = {
    store: redisStore(ctx.redisUrl),
    namespace: ctx.namespace,
    // NEW API: `nearCache: { maxEntries }` is a FreshkeyOptions field; drop the cast below.
    ...(options.near ? { nearCache: { maxEntries: NEAR_ENTRIES } } : {}),
  }
  return createFreshkey(config as FreshkeyOptions)
}

/**
 * Why the near-cache contenders cannot run in this build, or undefined once they can.
 * NEW API: when `createFreshkey({ nearCache })` exists, replace the body with `return undefined`
 * (the probe below only guesses, from a near-cache counter in `stats()`).
 */
export function nearCacheUnavailable(): string | undefined {
  const probe = createFreshkey({
    store: memoryStore(),
    namespace: 'probe',
    nearCache: { maxEntries: 1 },
  } as FreshkeyOptions)
  const supported = Object.keys(probe.stats()).some((k) => /near/i.test(k))
  void probe.close()
  return supported ? undefined : 'this build of @freshkey/core has no `nearCache` option yet'
}

/**
 * The blog's reads through `fk.wrap`; writes go straight to the ORM, whose freshkey adapter bumps
 * the tokens after each commit (nothing here invalidates by hand).
 */
export function freshkeyWrapApp(fk: Freshkey, base: BaseApp, close: () => Promise<void>): App {
  const articleScope = (categoryId: number) => dep.scope('articles', { categoryId, published: true })
  // NEW API: profile(id) => fk.wrap(['profile', id], () => base.profile(id))
  const user = (id: number) => fk.wrap([dep.row('users', id)], () => base.profile(id), { key: `user:${id}` })
  return {
    async articleById(id) {
      // NEW API: return fk.wrap(['article', id], () => base.articleById(id))
      //          (the adapter records the article row and its author's row as dependencies)
      const row = await fk.wrap([dep.row('articles', id)], () => base.articleRow(id), {
        key: `article:${id}`,
      })
      if (!row) return null
      return { ...row, author: await user(row.authorId) }
    },
    async newestOfCategory(categoryId) {
      // NEW API: return fk.wrap(['newest', categoryId], () => base.newestOfCategory(categoryId))
      //          (the filter becomes a scope condition, the members' rows dependencies)
      const ids = await fk.wrap([articleScope(categoryId)], () => base.newestIds(categoryId), {
        key: `newest:${categoryId}`,
      })
      if (ids.length === 0) return []
      return fk.wrap(
        ids.map((id) => dep.row('articles', id)),
        () => base.listItems(ids),
        { key: `items:${ids.join(',')}` },
      )
    },
    countOfCategory(categoryId) {
      // NEW API: return fk.wrap(['count', categoryId], () => base.countOfCategory(categoryId))
      return fk.wrap([articleScope(categoryId)], () => base.countOfCategory(categoryId), {
        key: `count:${categoryId}`,
      })
    },
    profile: user,
    retitle: (w) => base.retitle(w),
    move: (w) => base.move(w),
    setPublished: (w) => base.setPublished(w),
    insert: (a) => base.insert(a),
    editProfile: (w) => base.editProfile(w),
    close,
  }
}
