import type { PrimaryKey } from '@freshkey/core'
import { primaryKeyOf } from '@freshkey/core/adapter'
import type { ModelInfo } from './schema.ts'

export type Row = Record<string, unknown>

export const isObject = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v)
export const list = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]

const isDecimal = (v: object) => typeof (v as { toFixed?: unknown }).toFixed === 'function' && 'd' in v

/** A value a filter or an image may compare: what Prisma returns for a scalar column. */
export const isPlain = (v: unknown): boolean =>
  v === null ||
  ['string', 'number', 'boolean', 'bigint'].includes(typeof v) ||
  (typeof v === 'object' && (v instanceof Date || v instanceof Uint8Array || isDecimal(v)))

/** The scalar fields of a record (relations, `_count` and computed fields left out). */
export function scalars(model: ModelInfo, record: unknown): Row | undefined {
  if (!isObject(record)) return undefined
  const out: Row = {}
  for (const f of Object.keys(model.columns)) if (Object.hasOwn(record, f)) out[f] = record[f]
  return out
}

/** The plain scalar values of write data (`{ increment: 1 }` and relation writes left out). */
export function written(model: ModelInfo, data: unknown): Row {
  const out: Row = {}
  if (isObject(data))
    for (const [k, v] of Object.entries(data)) if (Object.hasOwn(model.columns, k) && isPlain(v)) out[k] = v
  return out
}

/** Fields an update's `data` may change: its scalars, foreign keys set through relations, `@updatedAt` fields. */
export function changedFields(model: ModelInfo, data: unknown): string[] {
  const out = new Set<string>(model.updatedAt)
  if (isObject(data))
    for (const key of Object.keys(data)) {
      if (Object.hasOwn(model.columns, key)) out.add(key)
      else for (const f of model.relations.get(key)?.fields ?? []) out.add(f)
    }
  return [...out]
}

/** The primary key of a record, when every key field holds a key value. */
export function pkOf(model: ModelInfo, record: unknown): PrimaryKey | undefined {
  const fields = model.primaryKey
  if (!isObject(record) || fields.length === 0) return undefined
  return primaryKeyOf(fields, (f) => {
    const v = record[f] instanceof Date ? (record[f] as Date).toISOString() : record[f]
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? v : undefined
  })
}

/** The key a unique `where` pins (`{ id }`, `{ a_b: { a, b } }`, `{ id: { equals } }`). */
export function pkOfWhere(model: ModelInfo, where: unknown): PrimaryKey | undefined {
  if (!isObject(where) || model.primaryKey.length === 0) return undefined
  const compound = model.primaryKeyName && where[model.primaryKeyName]
  const source = isObject(compound) ? compound : where
  const keys: Row = {}
  for (const f of model.primaryKey) {
    let v = source[f]
    if (isObject(v) && !isPlain(v) && Object.keys(v).length === 1 && 'equals' in v) v = v.equals
    keys[f] = v
  }
  return pkOf(model, keys)
}
