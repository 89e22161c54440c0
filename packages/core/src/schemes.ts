import type { RowChange, RowImage } from './change.ts'
import { canonical, segment } from './encoding.ts'
import { ConfigError } from './errors.ts'
import type { Keyspace } from './keyspace.ts'
import { scopeValue } from './scope-value.ts'

/**
 * A scheme: a field list a table's cached reads filter on (django-cacheops' idea). Cached reads
 * depend on conditions of a scheme (`category = 'x' and published = true`); a write bumps, for
 * each scheme of its table, the condition its row is in.
 */
export interface Scheme {
  /** Filter fields, sorted (empty: the read filters nothing). */
  readonly fields: readonly string[]
  /** Fields whose change can alter a result (filter and order fields); `'*'` for any field. */
  readonly watch: readonly string[] | '*'
  /**
   * The results do not name their member rows (counts, aggregates, declared scopes), so a row
   * leaving a condition must bump it too; lists that record their rows see leaving members through
   * the members' row tokens.
   */
  readonly leave: boolean
  /**
   * Readers of this scheme also depend on one key per field value (`category = 'b'`), so a write
   * whose image names some of the fields but not all bumps the key of one field it knows instead
   * of the scheme-wide key. Schemes registered by older readers lack it and keep the wide rule.
   */
  readonly fieldKeys: boolean
}

/** At most this many conditions from one filter (`IN` lists multiply); more widens to the table. */
export const MAX_CONDITIONS = 256

export function fieldsId(fields: readonly string[]): string {
  return segment(canonical(fields))
}

/** {@link fieldsId} of a scheme's fields, once per scheme: every write planned with it needs it. */
const schemeFieldsIds = new WeakMap<Scheme, string>()
function schemeFieldsId(s: Scheme): string {
  let id = schemeFieldsIds.get(s)
  if (id === undefined) {
    id = fieldsId(s.fields)
    schemeFieldsIds.set(s, id)
  }
  return id
}

export function schemeId(s: Scheme): string {
  return segment(canonical(s.fieldKeys ? [s.fields, s.watch, s.leave, 1] : [s.fields, s.watch, s.leave]))
}

export function encodeScheme(s: Scheme): string {
  return JSON.stringify(
    s.fieldKeys ? { f: s.fields, w: s.watch, l: s.leave, p: 1 } : { f: s.fields, w: s.watch, l: s.leave },
  )
}

/** Parses a stored scheme; undefined for anything malformed (a foreign writer, an old layout). */
export function decodeScheme(meta: string): Scheme | undefined {
  try {
    const o = JSON.parse(meta) as { f?: unknown; w?: unknown; l?: unknown; p?: unknown }
    if (!Array.isArray(o.f) || !o.f.every((f) => typeof f === 'string')) return undefined
    const watch =
      o.w === '*' ? '*' : Array.isArray(o.w) && o.w.every((f) => typeof f === 'string') ? o.w : undefined
    if (watch === undefined) return undefined
    return {
      fields: o.f as string[],
      watch: watch as string[] | '*',
      leave: o.l === true,
      fieldKeys: o.p === 1 && o.f.length > 1,
    }
  } catch {
    return undefined
  }
}

/**
 * Builds a scheme from a filter's fields, normalizing order and duplicates. `fieldKeys` applies to
 * lists of two or more fields (with one field, an image that lacks it knows nothing).
 */
export function scheme(
  fields: readonly string[],
  watch: readonly string[] | '*',
  leave: boolean,
  fieldKeys = false,
): Scheme {
  const f = [...new Set(fields)].sort()
  return {
    fields: f,
    watch: watch === '*' ? '*' : [...new Set([...f, ...watch])].sort(),
    leave,
    fieldKeys: fieldKeys && f.length > 1,
  }
}

/**
 * Condition keys of one conjunction: `where` maps each field of `s.fields` to a value or an
 * "any of" array. Undefined when it expands to more than {@link MAX_CONDITIONS} conditions.
 */
export function conditionKeys(
  keys: Keyspace,
  table: string,
  fields: readonly string[],
  where: Readonly<Record<string, unknown>>,
): string[] | undefined {
  const fid = fieldsId(fields)
  let combos: string[][] = [[]]
  for (const f of fields) {
    const v = where[f]
    const options = Array.isArray(v) ? v : [v]
    if (options.length === 0) return []
    const values = [...new Set(options.map(scopeValue))]
    combos = combos.flatMap((prefix) => values.map((value) => [...prefix, value]))
    if (combos.length > MAX_CONDITIONS) return undefined
  }
  return combos.map((values) => keys.condition(table, fid, segment(canonical(values))))
}

/**
 * Token keys a read of one scheme's conditions depends on besides the conditions: the key of
 * every condition of the field list, and for reads that do not name their members, the key of
 * every row leaving one.
 */
export function wideKeys(keys: Keyspace, table: string, fields: readonly string[], leave: boolean): string[] {
  const fid = fieldsId(fields)
  return leave ? [keys.wide(table, fid), keys.wide(table, `${fid}:l`)] : [keys.wide(table, fid)]
}

/**
 * The field keys a read of one conjunction of a `fieldKeys` scheme depends on: one per field and
 * value it asks for (an "any of" array names several).
 */
export function fieldKeysOf(
  keys: Keyspace,
  table: string,
  fields: readonly string[],
  where: Readonly<Record<string, unknown>>,
): string[] {
  const fid = fieldsId(fields)
  const out: string[] = []
  for (const f of fields) {
    const v = where[f]
    for (const value of new Set((Array.isArray(v) ? v : [v]).map(scopeValue)))
      out.push(keys.fieldValue(table, fid, f, value))
  }
  return out
}

/**
 * Adds to `out` what one row change bumps for one scheme (the rule, once):
 * - insert: the condition of its after image;
 * - update: nothing unless it changed a watched field; then the condition it is in now, and for
 *   schemes that do not name their members the one it left (from a before image the write itself
 *   returned, else from the fields it did not change: for `fieldKeys` schemes the key of one such
 *   field with a selective value), else the scheme-wide leave key;
 * - delete: for schemes that do not name their members, the condition it left.
 * Where an entering image lacks a field of the scheme, the key of one field it has (for
 * `fieldKeys` schemes: every condition with that value, which includes the one entered) or else
 * the scheme-wide key is bumped instead: wider, never stale.
 */
export function schemeBumps(keys: Keyspace, change: RowChange, s: Scheme, out: Set<string>): void {
  switch (change.kind) {
    case 'insert':
      bumpCondition(keys, change.table, s, change.after, false, out)
      return
    case 'delete':
      if (s.leave) bumpCondition(keys, change.table, s, change.before, true, out)
      return
    case 'update': {
      const changed = change.changed
      // Most updates write no watched field: checked before any key is built.
      if (changed && !touches(changed, s.watch)) return
      bumpCondition(keys, change.table, s, afterUpdate(change, s.fields), false, out)
      if (s.leave && (!changed || s.fields.some((f) => changed.includes(f))))
        bumpCondition(keys, change.table, s, beforeUpdate(change), true, out)
    }
  }
}

/**
 * The key of the condition `image` is in (entered, or `leaving`) for one scheme. An unknown
 * entering condition concerns every read of the field list; an unknown left one only the reads
 * that do not name their members (the others see members leave through their rows).
 */
function bumpCondition(
  keys: Keyspace,
  table: string,
  s: Scheme,
  image: RowImage | undefined,
  leaving: boolean,
  out: Set<string>,
): void {
  const fid = schemeFieldsId(s)
  const values = image ? conditionValues(image, s.fields) : undefined
  if (values) return void out.add(keys.condition(table, fid, segment(canonical(values))))
  // A left condition narrows to a field key only by a selective value (the key also reaches lists,
  // which the scheme-wide leave key spares); an entered one by any value it has.
  const known = s.fieldKeys && image ? knownField(image, s.fields, leaving) : undefined
  if (known) out.add(keys.fieldValue(table, fid, known, scopeValue(image![known])))
  else out.add(keys.wide(table, leaving ? `${fid}:l` : fid))
}

/** The row after an update, for these fields: written values, else before values of fields the write did not change. */
function afterUpdate(change: RowChange, fields: readonly string[]): RowImage | undefined {
  const { before, after, changed } = change
  if (!before || !changed) return after
  const image: Record<string, unknown> = {}
  for (const f of fields) {
    if (after && Object.hasOwn(after, f)) image[f] = after[f]
    else if (!changed.includes(f) && Object.hasOwn(before, f)) image[f] = before[f]
  }
  return image
}

/**
 * The row before an update: the image the write returned, else what the after image says of the
 * fields the write did not change (they held the same values before).
 */
function beforeUpdate(change: RowChange): RowImage | undefined {
  const { before, after, changed } = change
  if (before || !after || !changed) return before
  const image: Record<string, unknown> = {}
  for (const f of Object.keys(after)) if (!changed.includes(f)) image[f] = after[f]
  return image
}

/** Whether an update writing `changed` writes a field of `watch` (the rule for when a scheme moves). */
export function touches(changed: readonly string[], watch: readonly string[] | '*'): boolean {
  if (watch === '*') return changed.length > 0
  for (let i = 0; i < changed.length; i++) if (watch.includes(changed[i]!)) return true
  return false
}

/**
 * A field of the list the image holds, preferring one that is neither boolean nor null (it names
 * fewer conditions); with `selective`, only such a one.
 */
function knownField(image: RowImage, fields: readonly string[], selective = false): string | undefined {
  let found: string | undefined
  for (const f of fields) {
    if (!Object.hasOwn(image, f) || image[f] === undefined) continue
    const v = image[f]
    if (v !== null && typeof v !== 'boolean') return f
    if (!selective) found ??= f
  }
  return found
}

/** Normalized values of the scheme's fields in an image, or undefined when any is missing. */
function conditionValues(image: RowImage, fields: readonly string[]): string[] | undefined {
  const values: string[] = []
  for (const f of fields) {
    if (!Object.hasOwn(image, f)) return undefined
    const v = image[f]
    if (v === undefined) return undefined
    values.push(scopeValue(v))
  }
  return values
}

/** Validates scope field lists: one list (`['published', 'category']`) or several. Throws `ConfigError`. */
export function fieldLists(
  fields: readonly string[] | readonly (readonly string[])[],
  table = 'a table',
): readonly (readonly string[])[] {
  if (!Array.isArray(fields))
    throw new ConfigError(`the scopes of ${table} must be a field list or an array of field lists`)
  const lists = (
    fields.length > 0 && Array.isArray(fields[0]) ? fields : [fields]
  ) as readonly (readonly string[])[]
  if (lists.length === 0) throw new ConfigError(`a scope of ${table} needs a non-empty list of field names`)
  for (const list of lists) {
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string' || f === '')) {
      throw new ConfigError(`a scope of ${table} needs a non-empty list of field names`)
    }
  }
  return lists
}

/** Declared scopes: schemes known from code (`defineScope`, `@Scope`), applied by every writer of this process. */
export class DeclaredSchemes {
  readonly #byTable = new Map<string, Scheme[]>()
  #version = 0

  /** Declares one or more field lists for a table. Idempotent. */
  define(table: string, fields: readonly string[] | readonly (readonly string[])[]): void {
    const lists = fieldLists(fields, table)
    const known = this.#byTable.get(table) ?? []
    for (const list of lists) {
      const s = scheme(list, list, true, true)
      if (!known.some((k) => schemeId(k) === schemeId(s))) {
        known.push(s)
        this.#version++
      }
    }
    this.#byTable.set(table, known)
  }

  /** Grows whenever a scheme is declared (what a cache of {@link DeclaredSchemes.of} checks). */
  get version(): number {
    return this.#version
  }

  of(table: string): readonly Scheme[] {
    return this.#byTable.get(table) ?? []
  }

  /** The declared field lists of a table. */
  lists(table: string): readonly (readonly string[])[] {
    return this.of(table).map((s) => s.fields)
  }
}
