import type { Freshkey } from '@freshkey/core'
import {
  AdapterSetupError,
  type PendingFill,
  type ReadPlan,
  ResultCache,
  wholePlan,
} from '@freshkey/core/adapter'
import { type CacheAdapter, Utils } from '@mikro-orm/core'
import { bindingsOf, type MikroOrmBinding } from './binding.ts'
import { cacheContext } from './hooks.ts'
import type { Row } from './metadata.ts'
import { graphRecords, queryRecords, reachableTables, relatedTables } from './reads.ts'

/** Options of {@link FreshkeyCacheAdapter}. */
export interface FreshkeyCacheAdapterOptions {
  /** The freshkey instance entries are stored in. */
  fk: Freshkey
  /** ttl: seconds an entry stays fresh when the query gives no expiration. Default: freshkey's `ttl`. */
  ttl?: number
  /** Prefix of the entries' keys. Default `'mikro-orm'`. */
  keyPrefix?: string
}

/** A miss of this adapter, waiting for the data MikroORM stores. */
type Pending = PendingFill & { readonly adapter: FreshkeyCacheAdapter }

/**
 * The plan of one result-cache key. MikroORM keys are `[[schema, table, discriminator], method,
 * options, where]` for `em.find`/`findOne`/`count` (computed for named keys too, and handed to us
 * with the entity name by `tryCache`) and `['qb.execute', sql, params, method]` for QueryBuilder.
 */
function planOf(b: MikroOrmBinding, name: string, entityName: unknown, key: unknown): ReadPlan {
  let parts = key
  try {
    parts ??= name.startsWith('[') ? JSON.parse(name) : undefined
  } catch {}
  if (!Array.isArray(parts)) return wholePlan([...b.graph.tables])
  if (parts[0] === 'qb.execute' && typeof parts[1] === 'string') return wholePlan(b.rawReadTables(parts[1]))
  const [head, method, options, where] = parts as [unknown, string, Row | undefined, unknown]
  const meta = b.meta(entityName ?? (Array.isArray(head) ? head[1] : undefined))
  if (!meta || typeof method !== 'string') return wholePlan([...b.graph.tables])
  // MikroORM serializes every initialized relation of the entities it caches: fence every table they can reach.
  const tables = relatedTables(meta, [where, options?.populateWhere], reachableTables(meta))
  return {
    tables: [...tables],
    records(data) {
      if (method === 'em.count') return queryRecords(meta, where, options)
      const list = method === 'em.findOne' ? [data] : Array.isArray(data) ? data : []
      const items = list.filter(Utils.isPlainObject) as Row[]
      const through = relatedTables(meta, options?.populateWhere, new Set())
      if (options?.populateWhere === 'infer') relatedTables(meta, where, through)
      return [
        ...queryRecords(meta, where, options, items),
        ...graphRecords(meta, items, 'all', true, through.size > 0),
      ]
    },
  }
}

/**
 * MikroORM's result cache (`resultCache.adapter`) on freshkey: a lookup is one store round trip
 * (it also reads the fences of the tables the query will read), a miss stores the result with the
 * rows and the filter it read (compare-and-set, one more). An entry misses exactly when one of
 * its rows changes, a row enters its filter, or a table it read whole changes. Nothing is stored
 * from inside a transaction; inside `fk.wrap` the wrap tracks the query instead. MikroORM
 * rehydrates entities from the cached data itself. Needs `freshkeyMikroORM(orm, fk)`.
 */
export class FreshkeyCacheAdapter implements CacheAdapter {
  readonly #cache: ResultCache
  readonly #ttl: number | undefined

  constructor(options: FreshkeyCacheAdapterOptions) {
    if (!options?.fk || typeof options.fk.transaction !== 'function')
      throw new AdapterSetupError(
        'mikro-orm',
        'FreshkeyCacheAdapter needs `fk`: resultCache: { adapter: freshkeyCacheAdapter(fk) }',
      )
    this.#ttl = options.ttl
    this.#cache = new ResultCache(options.fk, options.keyPrefix ?? 'mikro-orm')
  }

  async get<T = unknown>(name: string): Promise<T | undefined> {
    const ctx = cacheContext.getStore()
    const b = bindingsOf(ctx?.em.config).find((x) => x.fk === this.#cache.fk)
    if (!b)
      throw new AdapterSetupError(
        'mikro-orm',
        'the freshkey result cache is used on an ORM without freshkeyMikroORM(orm, fk): writes would not invalidate it',
      )
    const found = await this.#cache.lookupQuery(b, name, () => planOf(b, name, ctx?.entityName, ctx?.key))
    if (found.hit) return found.value as T
    if (found.pending && ctx) ctx.pending = { ...found.pending, adapter: this } satisfies Pending
    return undefined
  }

  async set(_name: string, data: unknown, _origin: string, expiration?: number): Promise<void> {
    const ctx = cacheContext.getStore()
    const pending = ctx?.pending as Pending | undefined
    if (!ctx || pending?.adapter !== this || ctx.em.isInTransaction()) return
    const ttl = expiration !== undefined && expiration > 0 ? expiration / 1000 : this.#ttl
    await this.#cache.fillQuery(pending, data, ttl)
  }

  async remove(name: string): Promise<void> {
    await this.#cache.remove(name)
  }

  async clear(): Promise<void> {
    await this.#cache.clear()
  }

  /** The store belongs to the freshkey instance; nothing to close here. */
  close(): void {}
}

/**
 * A result cache adapter class bound to `fk`, for `resultCache: { adapter: freshkeyCacheAdapter(fk) }`.
 * Equivalent to `{ adapter: FreshkeyCacheAdapter, options: { fk, ...options } }`.
 */
export function freshkeyCacheAdapter(
  fk: Freshkey,
  options: Omit<FreshkeyCacheAdapterOptions, 'fk'> = {},
): new () => FreshkeyCacheAdapter {
  return class BoundFreshkeyCacheAdapter extends FreshkeyCacheAdapter {
    constructor() {
      super({ ...options, fk })
    }
  }
}
