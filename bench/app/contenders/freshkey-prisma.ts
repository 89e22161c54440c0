// freshkey on Prisma: `.cached()` reads, `fk.wrap`, and `fk.wrap` with the near cache.
import { freshkeyPrisma } from '@freshkey/prisma'
import { freshkeyWrapApp, newFreshkey, reportStats } from './freshkey-common.ts'
import { metadata, openPrisma } from './orm-prisma.ts'
import type { Contender } from './types.ts'

export const freshkeyPrismaCached: Contender = {
  name: 'freshkey-prisma-cached',
  orm: 'prisma',
  family: 'freshkey',
  config:
    '`prisma.<model>.cached().findUnique/findMany/count(...)`, `freshkeyPrisma(fk, { metadata })`; no deps declared',
  async open(ctx) {
    const fk = newFreshkey(ctx)
    const app = await openPrisma(ctx, {
      extend: (base) => base.$extends(freshkeyPrisma(fk, { metadata })),
      delegate: (client, model) => client[model].cached(),
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

function wrapContender(near: boolean): Contender {
  return {
    name: near ? 'freshkey-prisma-near' : 'freshkey-prisma-wrap',
    orm: 'prisma',
    family: 'freshkey',
    config: `\`fk.wrap\` per request over Prisma${near ? ' + near cache' : ''}; automatic dependencies`,
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
      const base = await openPrisma(ctx, {
        extend: (client) => client.$extends(freshkeyPrisma(fk, { metadata })),
      })
      return freshkeyWrapApp(fk, base, async () => {
        await base.close()
        await fk.close()
      })
    },
  }
}

export const freshkeyPrismaWrap = wrapContender(false)
export const freshkeyPrismaNear = wrapContender(true)
