import { dep } from '../dependency.ts'
import { boundKey, segment } from '../encoding.ts'
import type { Freshkey } from '../freshkey.ts'
import { internalsOf } from '../freshkey.ts'
import type { ReadRecord } from '../tracking.ts'
import type { FillTicket } from '../value-cache.ts'

/** Most entry keys remembered per result cache (then the memo starts over). */
const ENTRY_KEYS = 10_000

/** What {@link ResultCache.lookup} returns. */
export type ResultLookup =
  | { readonly hit: true; readonly value: unknown }
  | { readonly hit: false; readonly ticket: FillTicket | undefined }

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
