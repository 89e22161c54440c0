// freshkey on Prisma: `.cached()` reads, `fk.wrap`, and `fk.wrap` with the near cache.
// API change points: see freshkey-common.ts, and the NEW API comments below.
import { freshkeyPrisma } from '@freshkey/prisma'
import { ARTICLE_SCOPE, freshkeyWrapApp, nearCacheUnavailable, newFreshkey } from './freshkey-common.ts'
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
      // NEW API: unchanged (`.cached()` will depend on the rows and filters read, not the tables).
      delegate: (client, model) => client[model].cached(),
    })
    return {
      ...app,
      async close() {
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
    config: `\`fk.wrap\` per request over Prisma${near ? ' + near cache' : ''}; today: hand-written row/scope deps (scope categoryId+published)`,
    ...(near ? { unavailable: nearCacheUnavailable } : {}),
    async open(ctx) {
      const fk = newFreshkey(ctx, { near })
      const base = await openPrisma(ctx, {
        // NEW API: `freshkeyPrisma(fk, { metadata })` (no scopes: they come from the loaders' filters).
        extend: (client) =>
          client.$extends(freshkeyPrisma(fk, { metadata, scopes: { Article: [...ARTICLE_SCOPE] } })),
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
