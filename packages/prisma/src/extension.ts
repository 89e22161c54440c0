import type { Freshkey } from '@freshkey/core'
import { Prisma } from '@prisma/client/extension'
import { type CachedReadOptions, type CachedReads, cachedReads } from './cached-reads.ts'
import { AlreadyRegisteredError } from './errors.ts'
import type { ModelIndex } from './model-index.ts'
import type { FreshkeyPrismaOptions } from './options.ts'
import { type QueryParams, Registration } from './registration.ts'

/** What `prisma.$freshkey` tells about the installed extension. */
export interface FreshkeyPrismaInfo {
  /** The freshkey instance changes are published to. */
  readonly fk: Freshkey
  /** False in the table-level fallback (no generator metadata). */
  readonly precise: boolean
  /** Database table of a model name (`Post` or `post`). */
  tableOf(model: string): string | undefined
}

/**
 * The freshkey Prisma Client extension: `const prisma = base.$extends(freshkeyPrisma(fk, { metadata }))`.
 *
 * Every write (nested writes and raw SQL included) becomes freshkey changes, bumped after its
 * transaction commits; `prisma.<model>.cached().findMany(...)` caches reads by the tables they read;
 * returned records work with `fk.keyFor(record)`. Extending a client that already has it with the
 * same `fk` is a no-op; with another `fk` it throws {@link AlreadyRegisteredError}.
 */
export function freshkeyPrisma(fk: Freshkey, options: FreshkeyPrismaOptions = {}) {
  return Prisma.defineExtension((client) => {
    const existing = (client as { $freshkey?: FreshkeyPrismaInfo }).$freshkey
    if (existing) {
      if (existing.fk === fk) return client as never
      throw new AlreadyRegisteredError()
    }
    const reg = new Registration(fk, client as Record<string, any>, options)
    const clientComponent = { $freshkey: publicInfo(reg.fk, reg.index) }
    // Prisma gives extensions no commit hook: wrapping $transaction is how commits are seen. Added
    // outside the literal so the client keeps Prisma's own (model-aware) $transaction type.
    Object.assign(clientComponent, {
      $transaction: reg.frames.wrap((client as { $transaction: (...a: any[]) => any }).$transaction),
    })
    return client.$extends({
      name: 'freshkey',
      query: {
        $allOperations(params) {
          return reg.onQuery(params as QueryParams)
        },
      },
      model: {
        $allModels: {
          /** Cached reads of this model: `prisma.post.cached({ ttl: 60 }).findMany({ where })`. */
          cached<T>(this: T, cacheOptions?: CachedReadOptions): CachedReads<T> {
            return cachedReads(reg, this, cacheOptions) as CachedReads<T>
          },
        },
      },
      client: clientComponent,
    })
  })
}

function publicInfo(fk: Freshkey, index: ModelIndex): FreshkeyPrismaInfo {
  return Object.freeze({
    fk,
    precise: index.precise,
    tableOf: (model: string) => index.model(model)?.table,
  })
}
