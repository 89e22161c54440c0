import { dep } from '../dependency.ts'
import { boundKey, segment } from '../encoding.ts'
import type { Freshkey } from '../freshkey.ts'
import { internalsOf } from '../freshkey.ts'
import type { ReadRecord } from '../tracking.ts'
import type { FillTicket } from '../value-cache.ts'
import type { Binding } from './binding.ts'
import { wholeTables } from './read-frames.ts'

/** Most entry keys remembered per result cache (then the memo starts over). */
const ENTRY_KEYS = 10_000

/** What {@link ResultCache.lookup} returns. */
export type ResultLookup =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly ticket: FillTicket | undefined }

/** What a cached query reads: the tables fenced before it runs, and its read records from the data the ORM caches. */
export interface ReadPlan {
  readonly tables: readonly string[]
  records(data: unknown): readonly ReadRecord[]
}

/** A plan that depends on its tables as a whole (a query freshkey cannot analyse). */
export const wholePlan = (tables: readonly string[]): ReadPlan => ({
  tables,
  records: () => wholeTables(tables),
})

/** A miss of {@link ResultCache.lookupQuery}, waiting for the data the ORM stores. */
export interface PendingFill {
  readonly binding: Binding<any>
  readonly ticket: FillTicket
  readonly plan: ReadPlan
}

/**
 * The policy of an ORM's own result cache (TypeORM `cache: true`, MikroORM `resultCache`), once:
 * a lookup is one store round trip that also reads the fences of the tables the query will read;
 * the fill stores the rows and filters the query read as its dependencies (compare-and-set, one
 * more round trip); nothing is read from or stored into it inside a transaction that wrote those
 * tables, and nothing loaded inside a transaction is stored. `clear()` drops every entry of this
 * cache at once. Cache trouble is a miss, never an error.
 */
export class ResultCache {
  readonly fk: Freshkey
  readonly prefix: string
  readonly #tag: ReturnType<typeof dep.tag>
  /** Entry keys by cache key (an ORM's key is its SQL text: escaping and hashing it is per statement, not per call). */
  readonly #entries = new Map<string, string>()
  /** The declared token keys of a lookup without deps (the tag of this cache): the same for every call. */
  #tagKeys: readonly string[] | undefined

  constructor(fk: Freshkey, prefix: string) {
    this.fk = fk
    this.prefix = prefix
    this.#tag = dep.tag(`${prefix}:result-cache`)
  }

  #entry(key: string): string {
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = internalsOf(this.fk).keys.value(`r:${boundKey(segment(`${this.prefix}:${key}`))}`)
      if (this.#entries.size >= ENTRY_KEYS) this.#entries.clear()
      this.#entries.set(key, entry)
    }
    return entry
  }

  /** The cached result of `key`, or a ticket to fill it after the query (undefined: do not fill). */
  async lookup(key: string, tables: readonly string[], deps: readonly unknown[] = []): Promise<ResultLookup> {
    try {
      const i = internalsOf(this.fk)
      if (deps.length === 0) this.#tagKeys ??= i.parts.declared([this.#tag])
      const declared = deps.length === 0 ? this.#tagKeys! : i.parts.declared([...deps, this.#tag])
      return await i.values.lookup(this.#entry(key), declared, tables)
    } catch {
      return { hit: false, ticket: undefined }
    }
  }

  /** Stores a result with the reads the query made. ttl: seconds. Resolves to true when stored. */
  async fill(
    ticket: FillTicket | undefined,
    value: unknown,
    records: readonly ReadRecord[],
    ttl?: number,
  ): Promise<boolean> {
    if (!ticket) return false
    try {
      const i = internalsOf(this.fk)
      return await i.values.fill(ticket, value, records, i.resolveOptions(ttl === undefined ? {} : { ttl }))
    } catch {
      return false
    }
  }

  /**
   * The lookup of a query of `binding`'s ORM by its plan: none inside a cached loader (the loader
   * tracks the query itself) or when the plan cannot be made (reported). A miss may give the fill
   * to hand to {@link ResultCache.fillQuery}.
   */
  async lookupQuery(
    binding: Binding<any>,
    key: string,
    plan: () => ReadPlan,
  ): Promise<
    { readonly hit: true; readonly value: unknown } | { readonly hit: false; pending?: PendingFill }
  > {
    const p = binding.frame() ? undefined : binding.attempt('result-cache', plan)
    const found = p ? await this.lookup(key, p.tables) : undefined
    if (found?.hit) return found
    return found?.ticket
      ? { hit: false, pending: { binding, ticket: found.ticket, plan: p! } }
      : { hit: false }
  }

  /** Stores the data of a {@link ResultCache.lookupQuery} miss with what its plan reads in it (a plan that fails is reported, nothing stored). ttl: seconds. */
  async fillQuery(pending: PendingFill, data: unknown, ttl?: number): Promise<boolean> {
    const records = pending.binding.attempt('result-cache', () => pending.plan.records(data))
    return records ? this.fill(pending.ticket, data, records, ttl) : false
  }

  /** Drops the entry of one key. */
  async remove(key: string): Promise<void> {
    try {
      const entry = this.#entry(key)
      internalsOf(this.fk).values.forget(entry)
      await this.fk.store.delete([entry])
    } catch {
      // Best effort: entries also expire and are invalidated by writes.
    }
  }

  /** Drops every entry of this cache. */
  async clear(): Promise<void> {
    try {
      await this.fk.invalidate(this.#tag)
    } catch {
      // Best effort, as remove().
    }
  }
}
