import type { Freshkey } from '@freshkey/core'
import { AdapterInactiveError, Binding } from '@freshkey/core/adapter'
import { Prisma } from '@prisma/client/extension'
import { type CachedReadOptions, type CachedReads, cachedReads } from './cached-reads.ts'
import type { FreshkeyPrismaOptions } from './options.ts'
import { PROBE_SQL, PrismaBinding, type QueryParams } from './prisma-binding.ts'
import { transactionOverride } from './transactions.ts'

/** What `prisma.$freshkey` tells about the installed extension. */
export interface FreshkeyPrismaInfo {
  /** The freshkey instance changes are published to. */
  readonly fk: Freshkey
  /** Every freshkey extension on this client (one per freshkey instance), oldest first. */
  readonly all: readonly FreshkeyPrismaInfo[]
  /** Database table of a model name (`Post` or `post`). */
  tableOf(model: string): string | undefined
  /**
   * Proves the hooks fire: runs `SELECT 1` in a `$transaction` of `client` (default: the one this extension
   * returned; pass yours when extensions follow) and throws `AdapterInactiveError` unless the query hook
   * saw it inside a transaction this extension began.
   */
  verify(client?: object): Promise<void>
  /** Stops recording and tracking; the extension then passes every call through. Idempotent. */
  dispose(): void
}

const BINDING = Symbol('freshkey.prisma.binding')
type Probe = { $transaction(fn: (tx: { $queryRawUnsafe(sql: string): unknown }) => unknown): unknown }

/**
 * The freshkey Prisma Client extension: `const prisma = base.$extends(freshkeyPrisma(fk, { metadata }))`.
 *
 * Every write (nested writes and raw SQL included) becomes changes bumped at its transaction's commit;
 * reads inside `fk.wrap`, `fk.cached` and `prisma.<model>.cached()` report what they read, so cached
 * values depend on exactly that; returned records work with `fk.keyFor(record)`. Extending a client
 * again with the same `fk` is a no-op (another `fk` gets its own binding). Apply it last when other
 * extensions override `$transaction` or rewrite arguments.
 */
export function freshkeyPrisma(fk: Freshkey, options: FreshkeyPrismaOptions = {}) {
  return Prisma.defineExtension((client) => {
    const root = (client as { _originalClient?: object })._originalClient ?? client
    const binding = Binding.for(fk, root, () => new PrismaBinding(fk, root, client, options))
    const previous = (client as { $freshkey?: FreshkeyPrismaInfo }).$freshkey?.all ?? []
    if (previous.some((i) => (i as unknown as Record<symbol, unknown>)[BINDING] === binding))
      return client as never
    const all: FreshkeyPrismaInfo[] = [...previous]
    all.push({
      [BINDING]: binding,
      fk,
      all,
      tableOf: (model: string) => binding.index.model(model)?.table,
      verify: (on?: object) => verify(binding, (on ?? layer) as Probe),
      dispose: () => binding.dispose(),
    } as FreshkeyPrismaInfo)
    // Prisma gives extensions no commit hook: wrapping $transaction is how commits are seen. Added
    // outside the literal so the client keeps Prisma's own (model-aware) $transaction type.
    const inner = (client as { $transaction: (...a: any[]) => any }).$transaction
    const component = Object.assign(
      { $freshkey: all.at(-1)! },
      { $transaction: transactionOverride(binding, inner) },
    )
    const layer = client.$extends({
      name: 'freshkey',
      query: { $allOperations: (params) => binding.onQuery(params as QueryParams) },
      model: {
        $allModels: {
          /** Cached reads of this model: `prisma.post.cached({ ttl: 60 }).findMany({ where })`. */
          cached<T>(this: T, cacheOptions?: CachedReadOptions): CachedReads<T> {
            return cachedReads(binding, this, cacheOptions) as CachedReads<T>
          },
        },
      },
      client: component as { $freshkey: FreshkeyPrismaInfo },
    })
    return layer
  })
}

async function verify(binding: PrismaBinding, client: Probe): Promise<void> {
  binding.live()
  binding.probe = undefined
  await client.$transaction((tx) => tx.$queryRawUnsafe(PROBE_SQL))
  if (!binding.probe)
    throw new AdapterInactiveError(
      'prisma',
      binding.probe === undefined
        ? 'the query hook did not see a probe: is this the client freshkeyPrisma() extended?'
        : 'the probe ran in a transaction freshkey did not see start: apply freshkey last',
    )
}
