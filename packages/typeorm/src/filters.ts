import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import { isFindOperator } from './internals.ts'
import { pkOf } from './row-image.ts'

/** A conjunction of equalities by property path: a value, an "any of" array (`IN`), `null` (`IS NULL`). */
export type Conjunction = Readonly<Record<string, unknown>>
/** A disjunction of conjunctions (`[{}]`: every row), or undefined when the filter is not understood. */
export type Filter = readonly Conjunction[] | undefined

const MAX = 1000
const UNKNOWN = Symbol('unknown')
const SKIP = Symbol('skip')
export const EVERY: Filter = Object.freeze([Object.freeze({})])

function scalar(v: unknown): boolean {
  return (
    (typeof v === 'string' && v !== '') ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    typeof v === 'boolean' ||
    typeof v === 'bigint' ||
    (v instanceof Date && !Number.isNaN(v.getTime()))
  )
}

/** What a plain `null` in a where means: `IS NULL`, nothing (TypeORM drops it), or not understood. */
export type Nulls = 'null' | 'skip' | 'unknown'

/** The equality a where value states: a value, a list, null; SKIP when it filters nothing; UNKNOWN otherwise. */
function equality(value: unknown, nulls: Nulls): unknown {
  if (value === undefined) return SKIP
  if (value === null) return nulls === 'null' ? null : nulls === 'skip' ? SKIP : UNKNOWN
  if (scalar(value)) return value
  if (!isFindOperator(value)) return UNKNOWN
  const inner = value.value
  if (value.type === 'equal') return scalar(inner) ? inner : UNKNOWN
  if (value.type === 'isNull') return null
  if (value.type === 'in' && Array.isArray(inner) && inner.length <= MAX && inner.every(scalar)) return inner
  return UNKNOWN
}

function plain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function conjunction(
  md: EntityMetadata,
  where: unknown,
  nulls: Nulls,
  prefix = '',
  out: Record<string, unknown> = {},
) {
  if (!plain(where)) return undefined
  for (const key of Object.keys(where)) {
    const path = prefix ? `${prefix}.${key}` : key
    const column = md.findColumnWithPropertyPathStrict(path)
    if (column && !column.isVirtualProperty) {
      const v = equality(where[key], nulls)
      if (v === UNKNOWN) return undefined
      if (v !== SKIP) out[path] = v
    } else if (md.findEmbeddedWithPropertyPath(path)) {
      if (where[key] !== undefined && !conjunction(md, where[key], nulls, path, out)) return undefined
    } else if (where[key] !== undefined) return undefined // relation filters and anything else: not equalities here
  }
  return out
}

/**
 * A find-options or query-builder object where (`{ category: 'x', id: In([1, 2]) }`, OR-arrays,
 * embeddeds) as equalities on this entity's columns; undefined for operators other than `Equal`,
 * `In`, `IsNull`, for relation filters, strings, `Brackets` and functions.
 */
export function translate(md: EntityMetadata, where: unknown, nulls: Nulls): Filter {
  const list = Array.isArray(where) ? where : [where]
  if (list.length === 0) return EVERY
  const out: Conjunction[] = []
  for (const w of list) {
    const c = conjunction(md, w, nulls)
    if (!c) return undefined
    out.push(c)
  }
  return out
}

/** `a AND b` of two filters. */
export function and(a: Filter, b: Filter): Filter {
  if (!a || !b) return undefined
  const out: Conjunction[] = []
  for (const x of a)
    for (const y of b) {
      const merged: Record<string, unknown> = { ...x }
      for (const [k, v] of Object.entries(y)) merged[k] = k in merged ? intersect(merged[k], v) : v
      out.push(merged)
    }
  return out.length <= MAX ? out : undefined
}

function intersect(a: unknown, b: unknown): unknown {
  const as = Array.isArray(a) ? a : [a]
  const bs = Array.isArray(b) ? b : [b]
  return as.filter((x) => bs.some((y) => String(y) === String(x)))
}

/** `a OR b`. */
export function or(a: Filter, b: Filter): Filter {
  return a && b && a.length + b.length <= MAX ? [...a, ...b] : undefined
}

/** The key of each row a filter admits, when every conjunction pins every key column; else undefined. */
export function keysOf(md: EntityMetadata, filter: Filter): PrimaryKey[] | undefined {
  const columns = md.primaryColumns
  if (!filter || columns.length === 0) return undefined
  const rows: PrimaryKey[] = []
  for (const conj of filter) {
    let combos: Record<string, PrimaryKeyValue>[] = [{}]
    for (const c of columns) {
      const v = conj[c.propertyPath]
      const values = (Array.isArray(v) ? v : [v]).filter(
        (x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'bigint',
      )
      if (v === undefined || v === null || values.length !== (Array.isArray(v) ? v.length : 1))
        return undefined
      combos = combos.flatMap((p) => values.map((x) => ({ ...p, [c.propertyPath]: x as PrimaryKeyValue })))
      if (combos.length > MAX) return undefined
    }
    for (const k of combos) rows.push(columns.length === 1 ? k[columns[0]!.propertyPath]! : k)
  }
  return rows
}

/** `whereInIds(ids)` as a filter: bare values for a single key, id maps otherwise. */
export function idsFilter(md: EntityMetadata, ids: unknown): Filter {
  const list = Array.isArray(ids) ? ids : [ids]
  if (list.length > MAX || md.primaryColumns.length === 0) return undefined
  const out: Conjunction[] = []
  for (const id of list) {
    const pk =
      typeof id === 'object' && id !== null
        ? pkOf(md, id as ObjectLiteral)
        : md.primaryColumns.length === 1 && scalar(id)
          ? id
          : undefined
    if (pk === undefined) return undefined
    out.push(typeof pk === 'object' ? pk : { [md.primaryColumns[0]!.propertyPath]: pk })
  }
  return out
}
