// freshkey on TypeORM: the native query cache (`find({ cache: true })` through
// `freshkeyQueryResultCache`, also with the near cache), `fk.wrap`, and `fk.wrap` with the near cache.
import { freshkeyQueryResultCache, freshkeyTypeORM } from '@freshkey/typeorm'
import { freshkeyWrapApp, newFreshkey, reportStats } from './freshkey-common.ts'
import { openTypeOrm } from './orm-typeorm.ts'
import type { Contender } from './types.ts'

/** TypeORM's `cache.duration` for freshkey's provider: entries end on invalidation, not on time. */
const DURATION_MS = 3_600_000

function nativeContender(near: boolean): Contender {
  return {
    name: near ? 'freshkey-typeorm-native-near' : 'freshkey-typeorm-native',
    orm: 'typeorm',
    family: 'freshkey',
    config: `TypeORM \`find({ cache: true })\`, \`cache: { provider: freshkeyQueryResultCache(fk), duration: ${DURATION_MS / 1000} s }\`, adapter registered${near ? ' + near cache' : ''}; no deps declared`,
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
      const app = await openTypeOrm(ctx, {
        cache: { provider: freshkeyQueryResultCache(fk), duration: DURATION_MS },
        readCache: true,
        before: (ds) => void freshkeyTypeORM(ds, fk),
      })
      return {
        ...app,
        async close() {
          reportStats(fk)
          await app.close()
          await fk.close()
        },
      }
    },
  }
}

export const freshkeyTypeormNative = nativeContender(false)
/** The same with `nearCache` (hits from process memory); with `--only`, not in the default set. */
export const freshkeyTypeormNativeNear = nativeContender(true)

function wrapContender(near: boolean): Contender {
  return {
    name: near ? 'freshkey-typeorm-near' : 'freshkey-typeorm-wrap',
    orm: 'typeorm',
    family: 'freshkey',
    config: `\`fk.wrap\` per request over TypeORM${near ? ' + near cache' : ''}; automatic dependencies`,
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
      const base = await openTypeOrm(ctx, { before: (ds) => void freshkeyTypeORM(ds, fk) })
      return freshkeyWrapApp(fk, base, async () => {
        await base.close()
        await fk.close()
      })
    },
  }
}

export const freshkeyTypeormWrap = wrapContender(false)
export const freshkeyTypeormNear = wrapContender(true)
