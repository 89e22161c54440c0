import { type Dependency, dep, type Freshkey, sqlTablesRead, type TokenSnapshot } from '@freshkey/core'
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm'
import type { QueryResultCache } from 'typeorm/cache/QueryResultCache.js'
import type { QueryResultCacheOptions } from 'typeorm/cache/QueryResultCacheOptions.js'

/** Options of {@link freshkeyQueryResultCache}. */
export interface FreshkeyQueryResultCacheOptions {
  /** Key prefix; give data sources that share one freshkey instance different prefixes. Default `'typeorm'`. */
  prefix?: string
  /** Receives errors the cache swallowed (a cache problem never fails a query). Default: ignore. */
  onError?: (error: unknown) => void
}

const SNAPSHOT = Symbol('freshkey.snapshot')

interface Miss extends QueryResultCacheOptions {
  [SNAPSHOT]: TokenSnapshot
}

interface Stored {
  readonly result: unknown
  readonly time: number
  readonly duration: number
}

/**
 * A TypeORM `QueryResultCache` on freshkey: each cached query depends on the tables its SQL reads,
 * so `find({ cache: true })` and `.cache(...)` results are invalidated when a write to one of
 * those tables commits, not only when their duration runs out. Nothing is read from or stored into
 * the cache inside a transaction.
 */
export class FreshkeyQueryResultCache implements QueryResultCache {
  readonly #dataSource: DataSource
  readonly #fk: Freshkey
  readonly #prefix: string
  readonly #onError: (error: unknown) => void
  #known: readonly EntityMetadata[] | undefined
  #byTable = new Map<string, EntityMetadata>()
  #names: ReadonlySet<string> = new Set()

  constructor(dataSource: DataSource, fk: Freshkey, options: FreshkeyQueryResultCacheOptions = {}) {
    this.#dataSource = dataSource
    this.#fk = fk
    this.#prefix = options.prefix ?? 'typeorm'
    this.#onError = options.onError ?? (() => {})
  }

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async synchronize(): Promise<void> {}

  #key(options: QueryResultCacheOptions): string | undefined {
    const id = options.identifier ?? options.query
    return id ? `${this.#prefix}:${id}` : undefined
  }

  #tables(): void {
    const metadatas = this.#dataSource.entityMetadatas
    if (this.#known === metadatas) return
    this.#known = metadatas
    this.#byTable = new Map(metadatas.map((md) => [md.tableName, md]))
    this.#names = new Set(this.#byTable.keys())
  }

  /** Dependencies of a query: the tables it reads (views expanded), plus the tag `clear()` bumps. */
  depsOf(sql: string | undefined): Dependency[] | undefined {
    if (!sql) return undefined
    this.#tables()
    const found = new Set<string>()
    const visit = (text: string, depth: number) => {
      for (const table of sqlTablesRead(text, this.#names)) {
        if (found.has(table)) continue
        found.add(table)
        const md = this.#byTable.get(table)
        if (md?.tableType === 'view' && md.expression && depth < 8) {
          const expr = md.expression
          visit(typeof expr === 'string' ? expr : expr(this.#dataSource).getQuery(), depth + 1)
        }
      }
    }
    visit(sql, 0)
    if (found.size === 0) return undefined
    return [...[...found].sort().map((t) => dep.table(t)), dep.tag(`${this.#prefix}:query-cache`)]
  }

  #inTransaction(queryRunner: QueryRunner | undefined): boolean {
    return queryRunner?.isTransactionActive === true || this.#fk.currentTransaction() !== undefined
  }

  async getFromCache(
    options: QueryResultCacheOptions,
    queryRunner?: QueryRunner,
  ): Promise<QueryResultCacheOptions | undefined> {
    if (this.#inTransaction(queryRunner)) return undefined
    const key = this.#key(options)
    try {
      const deps = this.depsOf(options.query)
      if (!key || !deps) return undefined
      const hit = await this.#fk.get<Stored>(key)
      if (hit)
        return {
          identifier: options.identifier,
          query: options.query,
          time: hit.time,
          duration: hit.duration,
          result: hit.result,
        }
      // Tokens read before the query runs: a write that commits meanwhile makes storeInCache a no-op.
      const miss: Miss = { ...options, time: 0, result: undefined, [SNAPSHOT]: await this.#fk.snapshot(deps) }
      return miss
    } catch (error) {
      this.#onError(error)
      return undefined
    }
  }

  async storeInCache(
    options: QueryResultCacheOptions,
    savedCache: QueryResultCacheOptions | undefined,
    queryRunner?: QueryRunner,
  ): Promise<void> {
    const snapshot = (savedCache as Partial<Miss> | undefined)?.[SNAPSHOT]
    if (!snapshot || this.#inTransaction(queryRunner)) return
    const key = this.#key(options)
    try {
      const deps = this.depsOf(options.query)
      if (!key || !deps) return
      const time = options.time ?? Date.now()
      const value: Stored = { result: options.result, time, duration: options.duration }
      await this.#fk.set(key, value, { deps, ttl: Math.max(options.duration, 1) / 1000, snapshot })
    } catch (error) {
      this.#onError(error)
    }
  }

  isExpired(savedCache: QueryResultCacheOptions): boolean {
    if ((savedCache as Partial<Miss>)[SNAPSHOT]) return true
    return (savedCache.time ?? 0) + savedCache.duration < Date.now()
  }

  /** Drops every cached query of this prefix. */
  async clear(): Promise<void> {
    try {
      await this.#fk.invalidate(dep.tag(`${this.#prefix}:query-cache`))
    } catch (error) {
      this.#onError(error)
    }
  }

  async remove(identifiers: string[]): Promise<void> {
    try {
      await Promise.all(identifiers.map((id) => this.#fk.delete(`${this.#prefix}:${id}`)))
    } catch (error) {
      this.#onError(error)
    }
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
