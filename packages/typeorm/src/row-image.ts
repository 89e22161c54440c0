import type { PrimaryKey, PrimaryKeyValue, RowImage } from '@freshkey/core'
import { primaryKeyOf } from '@freshkey/core/adapter'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'

type Column = EntityMetadata['columns'][number]

export function keyValue(value: unknown): PrimaryKeyValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'bigint') return value
  if (value instanceof Date) return value.toISOString()
  return Buffer.isBuffer(value) ? value.toString('hex') : undefined
}

/** A column's value in an entity or a value map; a related entity stands for its referenced key. */
function columnValue(column: Column, source: ObjectLiteral): unknown {
  const value: unknown = column.getEntityValue(source)
  const related =
    value !== null && typeof value === 'object' && column.referencedColumn && !(value instanceof Date)
  return related ? column.referencedColumn!.getEntityValue(value as ObjectLiteral) : value
}

interface KeyColumns {
  /** The `primaryColumns` array these were read from (TypeORM replaces it when it rebuilds them). */
  readonly of: readonly Column[]
  readonly size: number
  readonly byPath: ReadonlyMap<string, Column>
  /** Property path of each key column. */
  readonly paths: readonly string[]
  /** The same, each once (the keys of `byPath`). */
  readonly fields: readonly string[]
}
const keyColumns = new WeakMap<EntityMetadata, KeyColumns>()

/** The key columns of an entity by property path, read once per `primaryColumns` array (every write needs them). */
export function keyColumnsOf(md: EntityMetadata): KeyColumns {
  const of = md.primaryColumns
  let k = keyColumns.get(md)
  if (k === undefined || k.of !== of || k.size !== of.length) {
    const byPath = new Map(of.map((c) => [c.propertyPath, c]))
    k = { of, size: of.length, byPath, paths: of.map((c) => c.propertyPath), fields: [...byPath.keys()] }
    keyColumns.set(md, k)
  }
  return k
}

/** The primary key by property names (`id`, `{ userId, groupId }`); undefined when a key column is missing. */
export function pkOf(md: EntityMetadata, source: unknown): PrimaryKey | undefined {
  const { byPath: cols, fields } = keyColumnsOf(md)
  if (!source || typeof source !== 'object' || cols.size === 0) return undefined
  return primaryKeyOf(fields, (f) => keyValue(columnValue(cols.get(f)!, source as ObjectLiteral)))
}

/** The key from an event's `entityId`: a bare value or an id map. */
export const pkOfId = (md: EntityMetadata, id: unknown): PrimaryKey | undefined =>
  typeof id === 'object' ? pkOf(md, id) : md.primaryColumns.length === 1 ? keyValue(id) : undefined

/** The columns of an entity or value map by property path; values not written (`undefined`, SQL functions) left out. */
export function imageOf(md: EntityMetadata, source: unknown): RowImage | undefined {
  if (!source || typeof source !== 'object') return undefined
  const image: Record<string, unknown> = {}
  for (const c of md.columns) {
    const v = c.isVirtualProperty ? undefined : columnValue(c, source as ObjectLiteral)
    if (v !== undefined && typeof v !== 'function') image[c.propertyPath] = v
  }
  return image
}

/** The key fields of a row as an image: what a delete knows for certain about the row it removed. */
export const keyImage = (md: EntityMetadata, pk: PrimaryKey): RowImage =>
  typeof pk === 'object' ? pk : { [md.primaryColumns[0]!.propertyPath]: pk }

/** Property paths a value map writes (SQL functions such as `() => 'n + 1'` too), with the columns set on every update. */
export function writtenPaths(md: EntityMetadata, values: ObjectLiteral | undefined): string[] {
  const paths = values
    ? md.columns.filter((c) => c.getEntityValue(values) !== undefined).map((c) => c.propertyPath)
    : []
  for (const r of md.relations)
    if (values && r.getEntityValue(values) !== undefined)
      paths.push(r.propertyPath, ...r.joinColumns.map((c) => c.propertyPath))
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) paths.push(c.propertyPath)
  return [...new Set(paths)]
}
