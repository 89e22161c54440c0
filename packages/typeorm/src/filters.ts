import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import { keyCombinations } from '@freshkey/core/adapter'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import { around, isFindOperator, type QB } from './internals.ts'
import { keyColumnsOf, pkOf } from './row-image.ts'

// The WHERE of a query builder as equalities by property path (a value, an "any of" array, `null`
// for IS NULL), a disjunction of conjunctions; undefined when not understood. Tracked as the
// builder is built (`where*()`, `setFindOptions()`); trusted only while the builder holds as many
// WHERE parts as when it was taken, so a method not tracked (`whereExists`, ...) makes it unknown.

export type Filter = readonly Readonly<Record<string, unknown>>[] | undefined
/** What a plain `null` means: IS NULL, nothing (TypeORM drops it), or not understood. */
type Nulls = 'null' | 'skip' | 'unknown'

const MAX = 1000
const UNKNOWN = Symbol('unknown')
const SKIP = Symbol('skip')
const HINT = Symbol('freshkey.where')
const EVERY: Filter = [{}]

const scalar = (v: unknown) =>
  (typeof v === 'string' && v !== '') ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  typeof v === 'boolean' ||
  typeof v === 'bigint' ||
  (v instanceof Date && !Number.isNaN(v.getTime()))

function equality(v: unknown, nulls: Nulls): unknown {
  if (v === undefined) return SKIP
  if (v === null) return nulls === 'null' ? null : nulls === 'skip' ? SKIP : UNKNOWN
  if (scalar(v)) return v
  if (!isFindOperator(v)) return UNKNOWN
  if (v.type === 'equal') return scalar(v.value) ? v.value : UNKNOWN
  if (v.type === 'isNull') return null
  const ok = v.type === 'in' && Array.isArray(v.value) && v.value.length <= MAX && v.value.every(scalar)
  return ok ? v.value : UNKNOWN
}

type MD = EntityMetadata
type Of = (md: MD, arg: unknown, qb: QB) => Filter

function conjunction(md: MD, w: unknown, nulls: Nulls, prefix: string, out: Record<string, unknown>) {
  const proto = typeof w === 'object' && w !== null ? Object.getPrototypeOf(w) : undefined
  if (proto !== Object.prototype && proto !== null) return undefined
  for (const [key, value] of Object.entries(w as object)) {
    const path = prefix ? `${prefix}.${key}` : key
    const column = md.findColumnWithPropertyPathStrict(path)
    if (column && !column.isVirtualProperty) {
      const v = equality(value, nulls)
      if (v === UNKNOWN) return undefined
      if (v !== SKIP) out[path] = v
    } else if (value === undefined) continue
    // Embeddeds nest; relation filters and anything else are not equalities on this table.
    else if (!md.findEmbeddedWithPropertyPath(path) || !conjunction(md, value, nulls, path, out))
      return undefined
  }
  return out
}

/** A find-options or object where (OR-arrays, embeddeds, `Equal`, `In`, `IsNull`) as a filter. */
export function translate(md: EntityMetadata, where: unknown, nulls: Nulls): Filter {
  const list = Array.isArray(where) ? where : [where]
  const out = list.map((w) => conjunction(md, w, nulls, '', {}))
  return list.length === 0 ? EVERY : out.every((c) => c !== undefined) ? out : undefined
}

function and(a: Filter, b: Filter): Filter {
  if (!a || !b || a.length * b.length > MAX) return undefined
  return a.flatMap((x) =>
    b.map((y) => {
      const m: Record<string, unknown> = { ...x }
      for (const [k, v] of Object.entries(y)) {
        const keep = (Array.isArray(v) ? v : [v]).map(String)
        m[k] = k in m ? [m[k]].flat().filter((e) => keep.includes(String(e))) : v
      }
      return m
    }),
  )
}
const or = (a: Filter, b: Filter): Filter => (a && b && a.length + b.length <= MAX ? [...a, ...b] : undefined)

/** The key of every row a filter admits when each conjunction pins every key column; else undefined. */
export function keysOf(md: EntityMetadata, filter: Filter): PrimaryKey[] | undefined {
  const fields = keyColumnsOf(md).paths
  if (!filter || fields.length === 0) return undefined
  const rows: PrimaryKey[] = []
  for (const conj of filter) {
    const keys = keyCombinations(fields, (f) => keyValues([conj[f]].flat()), MAX)
    if (!keys) return undefined
    rows.push(...keys)
  }
  return rows
}

const keyValues = (vs: unknown[]) =>
  vs.length > 0 && vs.every((v) => ['string', 'number', 'bigint'].includes(typeof v))
    ? (vs as PrimaryKeyValue[])
    : undefined

function ids(md: EntityMetadata, value: unknown): Filter {
  const list = [value].flat()
  if (list.length > MAX || md.primaryColumns.length === 0) return undefined
  const single = md.primaryColumns.length === 1
  const pks = list.map((id) =>
    typeof id === 'object' ? pkOf(md, id as ObjectLiteral) : single && scalar(id) ? id : undefined,
  )
  if (pks.some((pk) => pk === undefined)) return undefined
  return pks.map((pk) =>
    typeof pk === 'object' ? (pk as Record<string, unknown>) : { [md.primaryColumns[0]!.propertyPath]: pk },
  )
}

/** The filter of a builder's WHERE: `[{}]` without one, undefined when it is not understood. */
export function filterOf(qb: QB): Filter {
  const count = qb.expressionMap.wheres.length
  const hint = (qb as { [HINT]?: { filter: Filter; count: number } })[HINT]
  return count === 0 ? EVERY : hint?.count === count ? hint.filter : undefined
}

function track(proto: object, name: string, of: Of, join?: typeof and) {
  around(proto, name, function (this: QB, orig, args) {
    const wheres = this.expressionMap.wheres
    const before = wheres.length > 0 ? filterOf(this) : undefined
    const fresh = !join || wheres.length === 0
    const result = orig.apply(this, args)
    const alias = this.expressionMap.mainAlias
    const next = alias?.hasMetadata ? of(alias.metadata, args[0], this) : undefined
    const filter = fresh ? next : join!(before, next)
    ;(this as { [HINT]?: unknown })[HINT] = { filter, count: this.expressionMap.wheres.length }
    return result
  })
}

/** Tracks the WHERE of a builder prototype (once per TypeORM copy); `select` adds find options. */
export function trackWheres(proto: object, select: boolean): void {
  const object = (md: EntityMetadata, w: unknown) =>
    typeof w === 'object' && w !== null ? translate(md, w, 'unknown') : undefined
  for (const [prefix, join] of [['where'], ['andWhere', and], ['orWhere', or]] as const) {
    track(proto, prefix, object, join)
    track(proto, `${prefix}InIds`, ids, join)
  }
  if (!select) return
  track(
    proto,
    'setFindOptions',
    (md, options, qb) => {
      const where = (options as { where?: unknown } | undefined)?.where
      const nulls = (qb.connection.options as { invalidWhereValuesBehavior?: { null?: string } })
        .invalidWhereValuesBehavior?.null
      return where === undefined ? EVERY : translate(md, where, nulls === 'sql-null' ? 'null' : 'skip')
    },
    and,
  )
  around(proto, 'clone', function (this: Record<symbol, unknown>, orig, args) {
    const copy = orig.apply(this, args)
    if (this[HINT]) copy[HINT] = this[HINT]
    return copy
  })
}
