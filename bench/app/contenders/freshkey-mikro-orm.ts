// freshkey on MikroORM: the native result cache (`em.find(..., { cache: true })` through
// `freshkeyCacheAdapter`), `fk.wrap`, and `fk.wrap` with the near cache.
// API change points: see freshkey-common.ts, and the NEW API comments below.
import { freshkeyCacheAdapter, freshkeyMikroORM } from '@freshkey/mikro-orm'
import { ARTICLE_SCOPE, freshkeyWrapApp, nearCacheUnavailable, newFreshkey } from './freshkey-common.ts'
import { openMikroOrm } from './orm-mikro-orm.ts'
import type { Contender } from './types.ts'

/** MikroORM's `resultCache.expiration` for freshkey's adapter: entries end on invalidation. */
const EXPIRATION_MS = 3_600_000

export const freshkeyMikroOrmNative: Contender = {
  name: 'freshkey-mikro-orm-native',
  orm: 'mikro-orm',
  family: 'freshkey',
  config: `MikroORM \`em.find(..., { cache: true })\`, \`resultCache: { adapter: freshkeyCacheAdapter(fk), expiration: ${EXPIRATION_MS / 1000} s }\`, adapter registered; no deps declared`,
  async open(ctx) {
    const fk = newFreshkey(ctx)
    // NEW API: unchanged (the adapter will take each query's rows and filters as dependencies).
    const app = await openMikroOrm(ctx, {
      resultCache: { adapter: freshkeyCacheAdapter(fk), expiration: EXPIRATION_MS },
      readCache: true,
      ownEntityManager: true,
    })
    const handle = freshkeyMikroORM(app.orm, fk)
    return {
      ...app,
      async close() {
        handle.dispose()
        await app.close()
        await fk.close()
      },
    }
  },
}

function wrapContender(near: boolean): Contender {
  return {
    name: near ? 'freshkey-mikro-orm-near' : 'freshkey-mikro-orm-wrap',
    orm: 'mikro-orm',
    family: 'freshkey',
    config: `\`fk.wrap\` per request over MikroORM${near ? ' + near cache' : ''}; today: hand-written row/scope deps (scope categoryId+published)`,
    ...(near ? { unavailable: nearCacheUnavailable } : {}),
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
      // NEW API: no defineScope (scopes come from the loaders' filters).
      fk.defineScope('articles', [...ARTICLE_SCOPE])
      const base = await openMikroOrm(ctx, { ownEntityManager: true })
      const handle = freshkeyMikroORM(base.orm, fk)
      return freshkeyWrapApp(fk, base, async () => {
        handle.dispose()
        await base.close()
        await fk.close()
      })
    },
  }
}

export const freshkeyMikroOrmWrap = wrapContender(false)
export const freshkeyMikroOrmNear = wrapContender(true)
