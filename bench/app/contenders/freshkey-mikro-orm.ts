// freshkey on MikroORM: the native result cache (`em.find(..., { cache: true })` through
// `freshkeyCacheAdapter`), `fk.wrap`, and `fk.wrap` with the near cache.
import { freshkeyCacheAdapter, freshkeyMikroORM } from '@freshkey/mikro-orm'
import { freshkeyWrapApp, newFreshkey, reportStats } from './freshkey-common.ts'
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
    const app = await openMikroOrm(ctx, {
      resultCache: { adapter: freshkeyCacheAdapter(fk), expiration: EXPIRATION_MS },
      readCache: true,
      ownEntityManager: true,
    })
    const handle = freshkeyMikroORM(app.orm, fk)
    return {
      ...app,
      async close() {
        reportStats(fk)
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
    config: `\`fk.wrap\` per request over MikroORM${near ? ' + near cache' : ''}; automatic dependencies`,
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
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
