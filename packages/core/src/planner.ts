import type { Change } from './change.ts'
import { canonicalPk } from './dependency.ts'
import { InvalidDependencyError } from './errors.ts'
import type { Keyspace } from './keyspace.ts'
import { type DeclaredSchemes, decodeScheme, type Scheme, schemeBumps, touches } from './schemes.ts'
import type { SchemeLocation, SchemeSet } from './store.ts'

/** What a set of changes bumps. */
export interface Plan {
  readonly keys: Set<string>
  /** Tables the changes touched (their scheme versions ride on the bump). */
  readonly tables: Set<string>
}

interface KnownSchemes {
  version: string
  schemes: Scheme[]
}

/** Tables whose scheme lists are kept built (tables are few; bounded all the same). */
const TABLES = 10_000

interface TableSchemes {
  readonly version: number
  readonly schemes: readonly Scheme[]
  /** Their fields, built on first use. */
  fields?: ReadonlySet<string>
}

/**
 * Turns changes into the token keys they bump: the row, its table, the global token, and for each
 * scheme of the table (declared in code, or registered in the store by cached reads) the condition
 * the row is in. Stored schemes are cached here; a bump whose versions turned out old is planned
 * again with the schemes the store returned.
 */
export class Planner {
  readonly #keys: Keyspace
  readonly #declared: DeclaredSchemes
  readonly #stored = new Map<string, KnownSchemes>()
  /** Grows whenever a stored scheme list changes (learned or registered). */
  #storedVersion = 0
  /** Each table's declared-then-stored list, built once per change of either (every write reads it). */
  readonly #lists = new Map<string, TableSchemes>()

  constructor(keys: Keyspace, declared: DeclaredSchemes) {
    this.#keys = keys
    this.#declared = declared
  }

  /** Throws `InvalidDependencyError` for a malformed change (at `record`, where the mistake is made). */
  validate(change: Change): void {
    if (!change || typeof change !== 'object') throw new InvalidDependencyError('a change must be an object')
    const table = change.table
    if (typeof table !== 'string' || table === '')
      throw new InvalidDependencyError('a change needs a table name')
    if (change.kind === 'bulk') return
    if (change.kind !== 'insert' && change.kind !== 'update' && change.kind !== 'delete') {
      throw new InvalidDependencyError(`unknown change kind "${String((change as { kind?: unknown }).kind)}"`)
    }
    canonicalPk(change.pk)
  }

  plan(changes: Iterable<Change>, into?: Plan): Plan {
    const plan = into ?? { keys: new Set<string>(), tables: new Set<string>() }
    const k = this.#keys
    const out = plan.keys
    for (const change of changes) {
      const table = change.table
      plan.tables.add(table)
      out.add(k.table(table)).add(k.all)
      if (change.kind === 'bulk') {
        out.add(k.bulk(table))
        continue
      }
      out.add(k.row(table, canonicalPk(change.pk)))
      for (const s of this.#schemesOf(table)) schemeBumps(k, change, s, out)
    }
    return plan
  }

  /**
   * Fields of the schemes of `table` known here that an update writing `changed` would have to know
   * to bump a condition instead of a wider key, and `image` lacks. Empty: nothing to learn.
   */
  missingFields(
    table: string,
    changed: readonly string[],
    image: Readonly<Record<string, unknown>>,
  ): string[] {
    let out: Set<string> | undefined
    for (const s of this.#schemesOf(table)) {
      if (!touches(changed, s.watch)) continue
      for (const f of s.fields) {
        if (Object.hasOwn(image, f) && image[f] !== undefined) continue
        out ??= new Set()
        out.add(f)
      }
    }
    return out ? [...out] : []
  }

  /** Every field of the schemes of `table` known here. */
  fieldsOf(table: string): ReadonlySet<string> {
    const t = this.#table(table)
    if (t.fields === undefined) {
      const out = new Set<string>()
      for (const s of t.schemes) for (const f of s.fields) out.add(f)
      t.fields = out
    }
    return t.fields
  }

  /** The schemes of `table` this process plans with: declared, then stored. */
  #schemesOf(table: string): readonly Scheme[] {
    return this.#table(table).schemes
  }

  /** What this process knows of the schemes of `table`, rebuilt when any scheme list changed. */
  #table(table: string): TableSchemes {
    // Both counters only grow, so their sum changes whenever either does.
    const version = this.#storedVersion + this.#declared.version
    const cached = this.#lists.get(table)
    if (cached !== undefined && cached.version === version) return cached
    const stored = this.#stored.get(this.#keys.schemes(table))?.schemes
    const declared = this.#declared.of(table)
    const t: TableSchemes = { version, schemes: stored ? [...declared, ...stored] : declared }
    if (cached === undefined && this.#lists.size >= TABLES) this.#lists.clear()
    this.#lists.set(table, t)
    return t
  }

  /** Scheme versions this process planned with, for the tables of a plan. */
  versions(tables: Iterable<string>): (SchemeLocation & { known: string })[] {
    const out: (SchemeLocation & { known: string })[] = []
    for (const table of tables) {
      const hash = this.#keys.schemes(table)
      out.push({
        hash,
        version: this.#keys.schemeVersion(table),
        known: this.#stored.get(hash)?.version ?? '?',
      })
    }
    return out
  }

  /** Takes the stored schemes of a table; returns true when they differ from what was known. */
  learn(set: SchemeSet): boolean {
    const known = this.#stored.get(set.hash)
    if (known?.version === set.current) return false
    const schemes: Scheme[] = []
    for (const meta of set.schemes.values()) {
      const s = decodeScheme(meta)
      if (s) schemes.push(s)
    }
    this.#stored.set(set.hash, { version: set.current, schemes })
    this.#storedVersion++
    return true
  }

  /** Records a scheme this process registered itself (it is in the store from now on). */
  registered(hash: string, s: Scheme): void {
    const known = this.#stored.get(hash)
    if (!known) return
    // The version is unknown now (others may have registered too): keep planning with it, learn on the next bump.
    if (
      !known.schemes.some(
        (x) =>
          x.fields.join() === s.fields.join() &&
          x.leave === s.leave &&
          x.fieldKeys === s.fieldKeys &&
          sameWatch(x, s),
      )
    ) {
      known.schemes.push(s)
      this.#storedVersion++
    }
    known.version = '?'
  }
}

function sameWatch(a: Scheme, b: Scheme): boolean {
  if (a.watch === '*' || b.watch === '*') return a.watch === b.watch
  return a.watch.join() === b.watch.join()
}
