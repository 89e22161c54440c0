import { dep } from '@freshkey/core'
import type { Prisma } from '@prisma/client/extension'
import { PrismaOptionsError } from './errors.ts'
import { markRecords } from './record-mark.ts'
import type { Registration } from './registration.ts'
import { tablesRead } from './tables-read.ts'
import { decodeValue, encodeArgs, encodeValue } from './value-codec.ts'

/** Options of `prisma.<model>.cached(options)`. */
export interface CachedReadOptions {
  /** ttl: seconds a result stays fresh (invalidation ends it earlier). Default: the freshkey instance's `ttl`. */
  ttl?: number
  /** staleWhileRevalidate: seconds a stale result may still be served while one refresh runs. Default 0. */
  staleWhileRevalidate?: number
  /** Extra dependencies (`dep.tag('home')`, `dep.row(...)`) on top of the tables the query reads. */
  deps?: readonly unknown[]
}

/** Read operations of a model whose results come from the cache while none of the tables they read changed. */
export interface CachedReads<T> {
  findMany<A extends Prisma.Args<T, 'findMany'>>(
    args?: Prisma.Exact<A, Prisma.Args<T, 'findMany'>>,
  ): Promise<Prisma.Result<T, A, 'findMany'>>
  findFirst<A extends Prisma.Args<T, 'findFirst'>>(
    args?: Prisma.Exact<A, Prisma.Args<T, 'findFirst'>>,
  ): Promise<Prisma.Result<T, A, 'findFirst'>>
  findUnique<A extends Prisma.Args<T, 'findUnique'>>(
    args: Prisma.Exact<A, Prisma.Args<T, 'findUnique'>>,
  ): Promise<Prisma.Result<T, A, 'findUnique'>>
  count<A extends Prisma.Args<T, 'count'>>(
    args?: Prisma.Exact<A, Prisma.Args<T, 'count'>>,
  ): Promise<Prisma.Result<T, A, 'count'>>
  aggregate<A extends Prisma.Args<T, 'aggregate'>>(
    args: Prisma.Exact<A, Prisma.Args<T, 'aggregate'>>,
  ): Promise<Prisma.Result<T, A, 'aggregate'>>
  groupBy<A extends Prisma.Args<T, 'groupBy'>>(
    args: Prisma.Exact<A, Prisma.Args<T, 'groupBy'>>,
  ): Promise<Prisma.Result<T, A, 'groupBy'>>
}

const OPERATIONS = ['findMany', 'findFirst', 'findUnique', 'count', 'aggregate', 'groupBy'] as const

/**
 * The cached read API of one model delegate. Results are stored through `fk.wrap` with a table
 * dependency per table read; inside a transaction they are loaded, never stored (core rule 4).
 */
export function cachedReads(
  reg: Registration,
  delegate: any,
  options: CachedReadOptions = {},
): CachedReads<unknown> {
  if (options === null || typeof options !== 'object')
    throw new PrismaOptionsError('cached() takes an options object')
  const name = delegate?.$name
  const model = typeof name === 'string' ? reg.index.model(name) : undefined
  if (!model)
    throw new PrismaOptionsError(
      'cached() must be called on a model of the client, e.g. prisma.post.cached()',
    )
  const api: Record<string, (args?: unknown) => Promise<unknown>> = {}
  for (const operation of OPERATIONS) {
    api[operation] = async (args?: unknown) => {
      const deps = [...tablesRead(reg.index, model, args).map((t) => dep.table(t)), ...(options.deps ?? [])]
      const key = ['prisma', model.name, operation, encodeArgs(args)]
      const loaded = await reg.fk.wrap(
        [...deps, key],
        async (): Promise<{ e: unknown } | { raw: unknown }> => {
          const rows = await delegate[operation](args)
          try {
            return { e: encodeValue(rows) }
          } catch (error) {
            // Rows a result extension gave a function field cannot be cached: serve them uncached
            // (core refuses to store `raw` and reports it), never fail the read.
            reg.fk.reportError('prisma:cached', error)
            return { raw: rows }
          }
        },
        {
          ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
          ...(options.staleWhileRevalidate !== undefined
            ? { staleWhileRevalidate: options.staleWhileRevalidate }
            : {}),
        },
      )
      const value = 'raw' in loaded ? loaded.raw : decodeValue(loaded.e)
      if (operation.startsWith('find')) markRecords(reg.index, model, value)
      return value
    }
  }
  return api as unknown as CachedReads<unknown>
}
