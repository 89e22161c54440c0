import { dep, type Freshkey, type TokenSnapshot } from '@freshkey/core'
import type { CacheAdapter } from '@mikro-orm/core'
import { cacheKeyDeps } from './cache-key-deps.ts'
import { cachingEm } from './em-context.ts'
import { RegistrationError } from './errors.ts'
import { bindingOf, bindingsOfFreshkey } from './registry.ts'
import type { TableGraph } from './table-graph.ts'

/** Options of {@link FreshkeyCacheAdapter}. */
export interface FreshkeyCacheAdapterOptions {
  /** The freshkey instance entries are stored in. */
  fk: Freshkey
  /** ttl: seconds an entry stays fresh when the query gives no expiration. Default: freshkey's `ttl`. */
  ttl?: number
  /**
   * Dependencies of a named cache key (`cache: ['name', ms]`), whose tables MikroORM does not
   * pass. Default `[dep.all()]`: any committed write invalidates it.
   */
  namedKeyDeps?: (name: string) => readonly unknown[]
  /** Prefix of the freshkey keys entries are stored under. Default `'mikro-orm:'`. */
  keyPrefix?: string
  /** How long a miss waits for the matching `set`, in milliseconds. Default 60000. */
  fillWindowMs?: number
}

/** One miss waiting for its `set`: the tokens read before the query, none for a miss inside a transaction. */
interface PendingFill {
  readonly snapshot: TokenSnapshot | undefined
  readonly deps: readonly unknown[]
  readonly at: number
}

/** Removes the last entry matching `preferred`, else the last one. */
function removeLast(list: PendingFill[], preferred: (f: PendingFill) => boolean): void {
  const i = list.findLastIndex(preferred)
  list.splice(i >= 0 ? i : list.length - 1, 1)
}

/** Every entry also depends on this tag, so `clear()` can drop them all at once. */
const CLEAR_TAG = 'mikro-orm:result-cache'
const fills = new WeakMap<Freshkey, Map<string, PendingFill[]>>()

/** Forgets one pending fill of a key (its value was loaded inside a transaction and is not stored). */
export function discardPendingFill(fk: Freshkey, name: string): void {
  const map = fills.get(fk)
  const list = map?.get(name)
  if (!list) return
  removeLast(list, (f) => f.snapshot === undefined)
  if (list.length === 0) map!.delete(name)
}

/**
 * MikroORM result cache (`resultCache.adapter`) backed by freshkey: each entry depends on the
 * tables its query read (taken from the cache key), so `em.find(..., { cache: true })` results are
 * invalidated when a write to those tables commits. Tokens are read on the miss, before the query
 * runs, and the result is stored compare-and-set against them; nothing is stored from inside a
 * transaction. Install `freshkeyMikroORM` too: it tells the adapter the ORM's relations.
 */
export class FreshkeyCacheAdapter implements CacheAdapter {
  readonly #fk: Freshkey
  readonly #ttl: number | undefined
  readonly #named: (name: string) => readonly unknown[]
  readonly #prefix: string
  readonly #window: number

  constructor(options: FreshkeyCacheAdapterOptions) {
    const fk = options?.fk
    if (!fk || typeof fk.snapshot !== 'function') {
      throw new RegistrationError(
        'FreshkeyCacheAdapter needs `fk` (resultCache: { adapter: FreshkeyCacheAdapter, options: { fk } })',
      )
    }
    this.#fk = fk
    this.#ttl = options.ttl
    this.#named = options.namedKeyDeps ?? (() => [dep.all()])
    this.#prefix = options.keyPrefix ?? 'mikro-orm:'
    this.#window = options.fillWindowMs ?? 60_000
  }

  #graph(table?: string): TableGraph | undefined {
    const em = cachingEm.getStore()
    const own = em && bindingOf(em.config, this.#fk)
    if (own) return own.graph
    for (const b of bindingsOfFreshkey(this.#fk))
      if (table === undefined || b.graph.tables().has(table)) return b.graph
    return undefined
  }

  #deps(name: string): readonly unknown[] {
    const table = tableInKey(name)
    const deps: readonly unknown[] =
      cacheKeyDeps(name, this.#graph(table)) ?? (isComputedKey(name) ? [dep.all()] : this.#named(name))
    return [...deps, dep.tag(CLEAR_TAG)]
  }

  /** A fresh entry, or undefined; every undefined is remembered as a miss waiting for its `set`. */
  async get<T = unknown>(name: string): Promise<T | undefined> {
    const fk = this.#fk
    const tx = fk.currentTransaction()
    let deps: readonly unknown[] | undefined
    let snapshot: TokenSnapshot | undefined
    try {
      deps = this.#deps(name)
      if (!tx) {
        // One round trip: the entry, or the tokens read before the query runs (DESIGN rule 1).
        const found = await fk.lookup<{ d: T }>(this.#prefix + name, deps)
        if (found.hit) return found.value.d
        snapshot = found.snapshot
      } else if (!tx.touches(fk.tokenKeysOf(deps))) {
        // Read-your-writes: inside a transaction that wrote these tables the cached rows are old;
        // and nothing loaded inside a transaction is stored, so no snapshot is taken.
        const hit = await fk.get<{ d: T }>(this.#prefix + name)
        if (hit !== undefined) return hit.d
      }
    } catch {
      // Store trouble is a miss (and, without a snapshot, nothing is stored).
    }
    this.#remember(name, { snapshot, deps: deps ?? [], at: Date.now() })
    return undefined
  }

  #remember(name: string, fill: PendingFill): void {
    let map = fills.get(this.#fk)
    if (!map) {
      map = new Map()
      fills.set(this.#fk, map)
    }
    const list = (map.get(name) ?? []).filter((f) => Date.now() - f.at < this.#window)
    list.push(fill)
    map.set(name, list)
  }

  /**
   * Stores a query result. Concurrent misses of one key cannot be told apart, so the oldest
   * snapshot still waiting is used: a result read after it is never stored under newer tokens.
   */
  async set(name: string, data: unknown, _origin: string, expiration?: number): Promise<void> {
    const map = fills.get(this.#fk)
    const list = map?.get(name)?.filter((f) => Date.now() - f.at < this.#window)
    if (!map || !list || list.length === 0) {
      map?.delete(name)
      return
    }
    const oldest = list[0]!
    // A concurrent miss inside a transaction may be the one storing now: its rows must not be kept.
    const unsure = list.some((f) => f.snapshot === undefined)
    removeLast(list, (f) => f.snapshot !== undefined)
    if (list.length === 0) map.delete(name)
    else map.set(name, list)
    if (unsure || !oldest.snapshot) return
    const ttl = expiration !== undefined && expiration > 0 ? expiration / 1000 : this.#ttl
    try {
      await this.#fk.set(
        this.#prefix + name,
        { d: data },
        { deps: oldest.deps, snapshot: oldest.snapshot, ...(ttl ? { ttl } : {}) },
      )
    } catch {
      // A cache that cannot store only costs the next read a miss.
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.#fk.delete(this.#prefix + name)
    } catch {
      // Removing is best effort; entries also expire and are invalidated by writes.
    }
  }

  async clear(): Promise<void> {
    try {
      await this.#fk.invalidate(dep.tag(CLEAR_TAG))
    } catch {
      // Best effort, as remove().
    }
  }

  /** The store belongs to the freshkey instance; nothing to close here. */
  close(): void {}
}

function tableInKey(name: string): string | undefined {
  const m = /^\[\[(?:null|"[^"]*"),"((?:[^"\\]|\\.)*)"/.exec(name)
  return m ? m[1] : undefined
}

/** A key MikroORM computed (JSON of the query), as opposed to a name the user chose. */
function isComputedKey(name: string): boolean {
  return name.startsWith('[[') || name.startsWith('["qb.execute"')
}

/**
 * A result cache adapter class bound to `fk`, for `resultCache: { adapter: freshkeyCacheAdapter(fk) }`.
 * Equivalent to `{ adapter: FreshkeyCacheAdapter, options: { fk, ...options } }`.
 */
export function freshkeyCacheAdapter(
  fk: Freshkey,
  options: Omit<FreshkeyCacheAdapterOptions, 'fk'> = {},
): new (
  config?: Record<string, unknown>,
) => FreshkeyCacheAdapter {
  return class BoundFreshkeyCacheAdapter extends FreshkeyCacheAdapter {
    constructor() {
      super({ ...options, fk })
    }
  }
}
