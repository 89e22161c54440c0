import type { Freshkey } from '@freshkey/core'
import { type FillTicket, ResultCache, wholePlan } from '@freshkey/core/adapter'
import type { DataSource, QueryRunner } from 'typeorm'
import type { QueryResultCache } from 'typeorm/cache/QueryResultCache.js'
import type { QueryResultCacheOptions } from 'typeorm/cache/QueryResultCacheOptions.js'
import { bindingsOf } from './binding.ts'
import { FRESHKEY_CACHE, parsedTables, readContext, shapeIn } from './reads.ts'

/** Options of {@link freshkeyQueryResultCache}. */
export interface FreshkeyQueryResultCacheOptions {
  /** Key prefix; give data sources that share one freshkey instance different prefixes. Default `'typeorm'`. */
  prefix?: string
}

const TICKET = Symbol('freshkey.ticket')
type Opts = QueryResultCacheOptions
type Miss = Opts & { readonly [TICKET]: FillTicket }

/**
 * TypeORM's `QueryResultCache` on freshkey: a cached query depends on exactly what it read (the
 * rows it returned, its filter, its joined relations), so `find({ cache: true })` misses when a
 * member changes or a row enters its filter and keeps hitting when other rows change. A hit costs
 * one store round trip, a miss one more to fill; TypeORM builds entities from the cached raw rows,
 * so hits are real entities. Nothing is stored from inside a transaction. Needs `freshkeyTypeORM`
 * on the same data source.
 */
export class FreshkeyQueryResultCache implements QueryResultCache {
  readonly [FRESHKEY_CACHE] = true
  readonly #dataSource: DataSource
  readonly #cache: ResultCache

  constructor(dataSource: DataSource, fk: Freshkey, options: FreshkeyQueryResultCacheOptions = {}) {
    this.#dataSource = dataSource
    this.#cache = new ResultCache(fk, options.prefix ?? 'typeorm')
  }

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async synchronize(): Promise<void> {}

  /** The query being run (from its builder), else its SQL parsed: tables and, given raw rows, the records. */
  #reads(options: Opts) {
    const ctx = readContext.getStore()
    if (ctx?.qb) return shapeIn(ctx)
    const [binding] = bindingsOf(this.#dataSource)
    const sql = options.query?.replace(/ -- PARAMETERS: .*$/s, '')
    return binding && sql ? wholePlan(parsedTables(binding, sql)) : undefined
  }

  async getFromCache(options: Opts, runner?: QueryRunner): Promise<Opts | undefined> {
    const key = options.identifier ?? options.query
    const reads = key ? this.#reads(options) : undefined
    if (!key || !reads) return undefined
    const found = await this.#cache.lookup(key, reads.tables)
    if (found.hit) return { ...options, time: Date.now(), result: found.value }
    // TypeORM stores from inside transactions too: a miss there gets no ticket (DESIGN rule 4).
    return found.ticket && !runner?.isTransactionActive
      ? ({ ...options, [TICKET]: found.ticket } as Miss)
      : undefined
  }

  isExpired(saved: Opts): boolean {
    return TICKET in saved
  }

  async storeInCache(options: Opts, saved?: Opts, runner?: QueryRunner): Promise<void> {
    const ticket = (saved as Partial<Miss> | undefined)?.[TICKET]
    if (!ticket || runner?.isTransactionActive || typeof options.result !== 'string') return
    const result = options.result
    // What cannot be worked out is reported (the kit's one place) and not stored.
    const records = bindingsOf(this.#dataSource)[0]?.attempt('result-cache', () =>
      this.#reads(options)?.records(JSON.parse(result)),
    )
    if (records) await this.#cache.fill(ticket, result, records, Math.max(options.duration, 1) / 1000)
  }

  async remove(identifiers: string[]): Promise<void> {
    await Promise.all(identifiers.map((id) => this.#cache.remove(id)))
  }

  /** Drops every cached query of this prefix. */
  async clear(): Promise<void> {
    await this.#cache.clear()
  }
}

/**
 * The `provider` for TypeORM's `cache` option:
 * `new DataSource({ ..., cache: { provider: freshkeyQueryResultCache(fk) } })`.
 */
export function freshkeyQueryResultCache(
  fk: Freshkey,
  options: FreshkeyQueryResultCacheOptions = {},
): (dataSource: DataSource) => QueryResultCache {
  return (dataSource) => new FreshkeyQueryResultCache(dataSource, fk, options)
}
