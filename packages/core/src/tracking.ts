import { canonicalPk, type PrimaryKey } from './dependency.ts'
import type { Keyspace } from './keyspace.ts'
import {
  conditionKeys,
  encodeScheme,
  fieldKeysOf,
  type Scheme,
  scheme,
  schemeId,
  wideKeys,
} from './schemes.ts'
import type { SchemeRecord } from './store.ts'
import { isFenced } from './token.ts'

/**
 * What one ORM query read, as an adapter reports it to the read tracker. The tracker turns it
 * into dependencies: returned rows become row dependencies, the filter becomes scope conditions
 * (and a scheme registered for the table, so writes bump them), a filter the adapter does not
 * understand makes the read depend on the whole table.
 */
export interface ReadRecord {
  /** Database table name. */
  readonly table: string
  /** Primary keys of the rows returned (and of rows looked up by key, found or not). */
  readonly rows?: readonly PrimaryKey[]
  /**
   * The filter as a disjunction of conjunctions of equalities: each object maps a field to a value
   * or an "any of" array (`IN`), `null` for `IS NULL`; `{}` means no filter (every row).
   * Absent with `rows`: a lookup by primary key (the rows say it all).
   */
  readonly where?: readonly Readonly<Record<string, unknown>>[]
  /** The filter is not understood (ranges, `LIKE`, subqueries, raw SQL): depend on the whole table. */
  readonly whole?: boolean
  /** Fields whose change may alter this result (order fields, aggregated fields); default `'*'`. */
  readonly watch?: readonly string[] | '*'
  /**
   * False when the result does not name its member rows (a count, an aggregate, a select without
   * the primary key): rows leaving the filter must then be noticed through the filter itself.
   * Default: true when `rows` is given.
   */
  readonly enumerates?: boolean
}

/** A dependency gatherer that runs while a loader runs (`fk.wrap`, `fk.cached`, result caches). */
export class ReadFrame {
  /** Dependencies found so far (validity keys). */
  readonly keys = new Set<string>()
  /** Bump counters of the tables the load read: the next load of the same entry reads them first. */
  readonly fences = new Set<string>()
  readonly schemes = new Map<string, SchemeRecord & { scheme: Scheme }>()
  /** Tokens read before the load (declared dependencies, nested entries): compared exactly at the fill. */
  readonly tokens: Map<string, string>
  /** Bump counters read before the load: a dependency found later must not have been bumped since. */
  readonly counters: Map<string, string>
  /** Set when something read cannot be covered: the value is served, never stored. */
  unsafe = false
  readonly #keysOf: Keyspace
  readonly #preRead: (counters: string[]) => Promise<string[]>
  readonly parent: ReadFrame | undefined

  constructor(
    keys: Keyspace,
    tokens: Map<string, string>,
    counters: Map<string, string>,
    preRead: (counters: string[]) => Promise<string[]>,
    parent: ReadFrame | undefined,
  ) {
    this.#keysOf = keys
    this.tokens = tokens
    this.counters = counters
    this.#preRead = preRead
    this.parent = parent
  }

  /**
   * Call before an ORM query on these tables runs (and await the promise when one is returned):
   * a table this load has not fenced yet gets its bump counter read first, so a write that commits
   * while the query runs makes the fill fail instead of storing an old result (DESIGN rule 1).
   */
  beforeQuery(tables: Iterable<string>): Promise<void> | undefined {
    const list = [...tables]
    let missing: string[] | undefined
    for (const table of list) {
      const key = this.#keysOf.counter(table)
      this.fences.add(key)
      if (!this.counters.has(key)) {
        missing ??= []
        missing.push(key)
      }
    }
    const outer = this.parent?.beforeQuery(list)
    if (!missing) return outer
    for (const key of missing) this.counters.set(key, '')
    const own = this.#preRead(missing).then(
      (values) => {
        missing.forEach((key, i) => {
          this.counters.set(key, values[i]!)
        })
      },
      () => {
        this.unsafe = true
      },
    )
    return outer ? Promise.all([own, outer]).then(() => undefined) : own
  }

  /** Records what one query read. Never throws (a read must not fail for the cache). */
  read(record: ReadRecord): void {
    try {
      this.#read(record)
    } catch {
      this.unsafe = true
    }
    this.parent?.read(record)
  }

  #read(r: ReadRecord): void {
    const k = this.#keysOf
    const { table } = r
    const tableKey = k.table(table)
    const counter = k.counter(table)
    this.fences.add(counter)
    // A table this load never fenced before its query ran cannot be compared-and-set: serve, do not store.
    if (!this.counters.has(counter)) this.unsafe = true
    this.keys.add(k.bulk(table))
    if (r.whole) {
      this.keys.add(tableKey)
      return
    }
    for (const pk of r.rows ?? []) this.keys.add(k.row(table, canonicalPk(pk)))
    if (r.where === undefined) {
      if (r.rows === undefined) this.keys.add(tableKey)
      return
    }
    const enumerates = r.enumerates ?? r.rows !== undefined
    for (const conj of r.where) {
      const fields = Object.keys(conj).filter((f) => conj[f] !== undefined)
      const s = scheme(fields, r.watch ?? '*', !enumerates, true)
      const conds = conditionKeys(k, table, s.fields, conj)
      if (!conds) {
        this.keys.add(tableKey)
        continue
      }
      for (const c of conds) this.keys.add(c)
      for (const w of wideKeys(k, table, s.fields, s.leave)) this.keys.add(w)
      if (s.fieldKeys) for (const f of fieldKeysOf(k, table, s.fields, conj)) this.keys.add(f)
      const id = schemeId(s)
      if (!this.schemes.has(id))
        this.schemes.set(id, {
          hash: k.schemes(table),
          version: k.schemeVersion(table),
          id,
          meta: encodeScheme(s),
          scheme: s,
        })
    }
  }

  /** Adds the dependencies of an entry served from the cache inside this load (nested `wrap`). */
  adopt(keys: readonly string[], fences: readonly string[], current: ReadonlyMap<string, string>): void {
    for (const key of keys) {
      this.keys.add(key)
      // The nested entry's tokens were current when read: treat them as read before this load.
      if (!this.tokens.has(key)) {
        const token = current.get(key)
        if (token !== undefined) this.tokens.set(key, token)
      }
    }
    for (const f of fences) {
      this.fences.add(f)
      if (!this.counters.has(f)) {
        const value = current.get(f)
        if (value !== undefined) this.counters.set(f, value)
        else this.unsafe = true
      }
    }
    this.parent?.adopt(keys, fences, current)
  }

  /** True when a baseline token is fenced (a write was committing): the result may predate it. */
  get fenced(): boolean {
    for (const t of this.tokens.values()) if (isFenced(t)) return true
    return false
  }
}
