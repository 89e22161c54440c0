import type { WrapOptions } from '@freshkey/core'
import type { Prisma } from '@prisma/client/extension'
import { PrismaOptionsError } from './errors.ts'
import type { PrismaBinding } from './prisma-binding.ts'
import { markRecords } from './record-mark.ts'
import { decodeValue, encodeArgs, encodeValue } from './value-codec.ts'

/** Options of `prisma.<model>.cached(options)`. */
export interface CachedReadOptions {
  /** ttl: seconds a result stays fresh (invalidation ends it earlier). Default: the freshkey instance's `ttl`. */
  ttl?: number
  /** staleWhileRevalidate: seconds a stale result may still be served while one refresh runs. Default 0. */
  staleWhileRevalidate?: number
  /** Extra dependencies (`dep.tag('home')`, `dep.row(...)`) on top of what the query read. */
  deps?: readonly unknown[]
}

const OPERATIONS = ['findMany', 'findFirst', 'findUnique', 'count', 'aggregate', 'groupBy'] as const
type Operation = (typeof OPERATIONS)[number]

/** Read operations of a model whose results come from the cache while nothing they read changed. */
export type CachedReads<T> = {
  [K in Operation]: <A extends Prisma.Args<T, K>>(
    args?: Prisma.Exact<A, Prisma.Args<T, K>>,
  ) => Promise<Prisma.Result<T, A, K>>
}

/**
 * The cached reads of one model delegate: `fk.wrap(['prisma', model, operation, args], read)`, depending
 * on what the read returned and filtered on (the query hook tracks it); never stored inside a transaction.
 */
export function cachedReads(binding: PrismaBinding, delegate: any, options: CachedReadOptions = {}) {
  binding.live()
  if (options === null || typeof options !== 'object')
    throw new PrismaOptionsError('cached() takes an options object')
  const name = delegate?.$name
  const model = typeof name === 'string' ? binding.index.model(name) : undefined
  if (!model)
    throw new PrismaOptionsError(
      'cached() must be called on a model of the client, e.g. prisma.post.cached()',
    )
  // Only these three: other `fk.wrap` options (`signal`, `timeout`…) are not part of this API.
  const { ttl, staleWhileRevalidate, deps } = options
  const wrapOptions: WrapOptions = { ttl, staleWhileRevalidate, deps }
  const api: Record<string, (args?: unknown) => Promise<unknown>> = {}
  for (const operation of OPERATIONS) {
    api[operation] = async (args?: unknown) => {
      // The arguments' JSON may hold a '#': as one part with a space it can never read as a `table#pk` dependency.
      const key = ['prisma', model.name, operation, `args ${encodeArgs(args)}`]
      const load = async (): Promise<{ e: unknown } | { raw: unknown }> => {
        const rows = await delegate[operation](args)
        try {
          return { e: encodeValue(rows) }
        } catch (error) {
          // Rows a result extension gave a function field cannot be cached: serve them, never fail the read.
          binding.report('cached', error)
          return { raw: rows }
        }
      }
      const loaded = await binding.fk.wrap(key, load, wrapOptions)
      const value = 'raw' in loaded ? loaded.raw : decodeValue(loaded.e)
      if (operation.startsWith('find')) markRecords(binding.index, model, value)
      return value
    }
  }
  return api as unknown as CachedReads<unknown>
}
