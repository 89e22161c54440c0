import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import { isFindOperator } from './internals.ts'
import { pkOf } from './row-image.ts'

/** Rows a write's WHERE is limited to: known keys, `'all'` (no WHERE) or `'unknown'`. */
export type RowHint = { readonly rows: readonly PrimaryKey[] } | 'all' | 'unknown'

const MAX_ROWS = 1000

function scalar(value: unknown): PrimaryKeyValue | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') return value
  if (typeof value === 'string' && value !== '') return value
  return undefined
}

/** Values a where-condition value admits: a scalar, `Equal(x)` or `In([...])`; undefined otherwise. */
function admitted(value: unknown): PrimaryKeyValue[] | undefined {
  const one = scalar(value)
  if (one !== undefined) return [one]
  if (!isFindOperator(value)) return undefined
  if (value.type === 'equal') {
    const v = scalar(value.value)
    return v === undefined ? undefined : [v]
  }
  if (value.type === 'in' && Array.isArray(value.value)) {
    const vs = value.value.map(scalar)
    return vs.every((v) => v !== undefined) ? (vs as PrimaryKeyValue[]) : undefined
  }
  return undefined
}

/** Keys of the rows a find-options style where object (or an OR-array of them) can match. */
export function rowsOfWhere(metadata: EntityMetadata, where: unknown): PrimaryKey[] | undefined {
  if (Array.isArray(where)) {
    const all: PrimaryKey[] = []
    for (const w of where) {
      const rows = rowsOfWhere(metadata, w)
      if (!rows) return undefined
      all.push(...rows)
    }
    return all.length <= MAX_ROWS ? all : undefined
  }
  // Only plain objects: Brackets and other classes build arbitrary SQL.
  if (typeof where !== 'object' || where === null) return undefined
  const proto = Object.getPrototypeOf(where)
  if (proto !== Object.prototype && proto !== null) return undefined
  const columns = metadata.primaryColumns
  if (columns.length === 0) return undefined
  let combos: Record<string, PrimaryKeyValue>[] = [{}]
  for (const column of columns) {
    const values = admitted(column.getEntityValue(where as ObjectLiteral))
    if (!values || values.length === 0) return undefined
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [column.propertyPath]: v })))
    if (combos.length > MAX_ROWS) return undefined
  }
  return columns.length === 1 ? combos.map((c) => c[columns[0]!.propertyPath]!) : combos
}

/** Keys named by `whereInIds(ids)`: bare values for a single key, id maps otherwise. */
export function rowsOfIds(metadata: EntityMetadata, ids: unknown): PrimaryKey[] | undefined {
  const list = Array.isArray(ids) ? ids : [ids]
  if (list.length > MAX_ROWS) return undefined
  const rows: PrimaryKey[] = []
  for (const id of list) {
    if (typeof id === 'object' && id !== null) {
      const pk = pkOf(metadata, id as ObjectLiteral)
      if (pk === undefined) return undefined
      rows.push(pk)
    } else {
      const v = scalar(id)
      if (v === undefined || metadata.primaryColumns.length !== 1) return undefined
      rows.push(v)
    }
  }
  return rows
}

/** `where(x)`: the rows of x. */
export function hintWhere(metadata: EntityMetadata | undefined, where: unknown): RowHint {
  const rows = metadata ? rowsOfWhere(metadata, where) : undefined
  return rows ? { rows } : 'unknown'
}

/** `andWhere(x)`: an AND never widens known rows. */
export function hintAnd(current: RowHint, metadata: EntityMetadata | undefined, where: unknown): RowHint {
  if (typeof current === 'object') return current
  return hintWhere(metadata, where)
}

/** `orWhere(x)`: known only when both sides are. */
export function hintOr(current: RowHint, metadata: EntityMetadata | undefined, where: unknown): RowHint {
  if (current === 'all') return hintWhere(metadata, where)
  const next = hintWhere(metadata, where)
  if (typeof current !== 'object' || typeof next !== 'object') return 'unknown'
  const rows = [...current.rows, ...next.rows]
  return rows.length <= MAX_ROWS ? { rows } : 'unknown'
}
