import type { Change, RowImage } from './change.ts'
import { ConfigError, UnknownScopeError } from './errors.ts'
import type { Keyspace } from './keyspace.ts'
import { scopeValue } from './scope-value.ts'

const MAX_CONDITIONS = 1024

/** Declared scopes per table and the rules that turn a change into scope bumps (issue: scopes). */
export class ScopeRegistry {
  readonly #byTable = new Map<string, string[][]>()

  constructor(readonly keys: Keyspace) {}

  /** Declares one or more field lists for a table. Idempotent. */
  define(table: string, fields: readonly string[] | readonly (readonly string[])[]): void {
    if (!Array.isArray(fields))
      throw new ConfigError(`the scopes of "${table}" must be a field list or an array of field lists`)
    const lists = (
      fields.length > 0 && Array.isArray(fields[0]) ? fields : [fields]
    ) as readonly (readonly string[])[]
    for (const list of lists) {
      if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string' || f === '')) {
        throw new ConfigError(`a scope of "${table}" needs a non-empty list of field names`)
      }
    }
    const known = this.#byTable.get(table) ?? []
    for (const list of lists) {
      const sorted = [...new Set(list)].sort()
      if (!known.some((k) => k.length === sorted.length && k.every((f, i) => f === sorted[i])))
        known.push(sorted)
    }
    this.#byTable.set(table, known)
  }

  /** The declared field lists of a table (sorted fields). */
  lists(table: string): readonly (readonly string[])[] {
    return this.#byTable.get(table) ?? []
  }

  /** Union of the scoped fields of a table: the columns a before image needs. */
  fields(table: string): string[] {
    return [...new Set(this.lists(table).flat())].sort()
  }

  /** Token keys a `dep.scope(table, where)` depends on: its conditions, the scope-wide and bulk tokens. */
  tokenKeys(table: string, where: Readonly<Record<string, unknown>>): string[] {
    const fields = Object.keys(where).sort()
    const list = this.lists(table).find(
      (l) => l.length === fields.length && l.every((f, i) => f === fields[i]),
    )
    if (!list) throw new UnknownScopeError(table, fields, this.lists(table))
    const choices = list.map((f) => {
      const v = where[f]
      const options = Array.isArray(v) ? v : [v]
      if (options.length === 0)
        throw new ConfigError(`scope field "${f}" of "${table}" has an empty "any of" list`)
      return [...new Set(options.map(scopeValue))]
    })
    const count = choices.reduce((n, c) => n * c.length, 1)
    if (count > MAX_CONDITIONS) {
      throw new ConfigError(
        `a scope of "${table}" expands to ${count} conditions (at most ${MAX_CONDITIONS})`,
      )
    }
    let combos: string[][] = [[]]
    for (const c of choices) combos = combos.flatMap((prefix) => c.map((v) => [...prefix, v]))
    return [
      ...combos.map((values) => this.keys.scopeCondition(table, list, values)),
      this.keys.scopeWide(table, list),
      this.keys.bulk(table),
    ]
  }

  /**
   * Adds the scope bumps of one change to `out`, O(declared field lists). Bulk changes bump the
   * table's bulk token, which every scope of the table includes, so they add nothing here.
   */
  bumps(change: Change, out: Set<string>): void {
    if (change.kind === 'bulk') return
    const lists = this.#byTable.get(change.table)
    if (!lists) return
    for (const list of lists) {
      const images = this.#images(change, list)
      if (!images) continue
      const conditions: string[] = []
      let wide = false
      for (const image of images) {
        const values = image && conditionValues(image, list)
        if (values) conditions.push(this.keys.scopeCondition(change.table, list, values))
        else wide = true
      }
      // The scope-wide token covers every condition of the list, so the known ones add nothing.
      if (wide) out.add(this.keys.scopeWide(change.table, list))
      else for (const c of conditions) out.add(c)
    }
  }

  /**
   * Images whose conditions a change leaves or enters; `undefined` stands for "unknown" (scope-wide
   * bump). Undefined when no field of the list changed.
   */
  #images(
    change: Exclude<Change, { kind: 'bulk' }>,
    list: readonly string[],
  ): (RowImage | undefined)[] | undefined {
    if (change.kind === 'insert') return [change.after]
    if (change.kind === 'delete') return [change.before]
    const { before, after, changed } = change
    // A field counts as changed unless `changed` leaves it out or both images hold the same stored value.
    const touched = list.filter(
      (f) =>
        (!changed || changed.includes(f)) &&
        !(
          before &&
          after &&
          Object.hasOwn(before, f) &&
          Object.hasOwn(after, f) &&
          sameStored(before[f], after[f])
        ),
    )
    if (touched.length === 0) return undefined
    if (before === undefined) return [undefined]
    // The new values are known only where the after image holds every scoped field that may have changed.
    const afterKnown = after !== undefined && touched.every((f) => Object.hasOwn(after, f))
    return [before, afterKnown ? { ...before, ...after } : undefined]
  }
}

const NUMERIC = new Set(['number', 'bigint', 'boolean'])

/**
 * True when two image values certainly denote one stored value. Stricter than normalization, which
 * also merges distinct values (`'1.0'` and `'1'` in a text column): a wrong "same" would skip a
 * bump that a list needs, a wrong "different" only costs a needless one.
 */
function sameStored(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return false
  // The same object (a Date too) may have been mutated in place between the images.
  if (a === b) return typeof a !== 'object' || a === null
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime()
  const ta = typeof a
  const tb = typeof b
  // 1, 1n and true are one stored value in a numeric or boolean column.
  if (NUMERIC.has(ta) && NUMERIC.has(tb)) return scopeValue(a) === scopeValue(b)
  // A driver returns a bigint or numeric column as the text of the number the app wrote.
  if (ta === 'string' && (tb === 'number' || tb === 'bigint')) return a === String(b)
  if (tb === 'string' && (ta === 'number' || ta === 'bigint')) return b === String(a)
  return false
}

/** Normalized values of a list's fields in an image, or undefined when any of them is missing. */
function conditionValues(image: RowImage, list: readonly string[]): string[] | undefined {
  const values: string[] = []
  for (const f of list) {
    // `constructor`, `toString`... of a plain image are Object.prototype's, not column values.
    if (!Object.hasOwn(image, f) && f in Object.prototype) return undefined
    const v = image[f]
    if (v === undefined) return undefined
    values.push(scopeValue(v))
  }
  return values
}
