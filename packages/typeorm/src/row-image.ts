import type { PrimaryKey, PrimaryKeyValue, RowImage } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'

export function keyValue(value: unknown): PrimaryKeyValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'bigint') return value
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object' && value !== null && Buffer.isBuffer(value)) return value.toString('hex')
  return undefined
}

/** A column's value in an entity or a plain map; a related entity stands for its referenced key. */
export function columnValue(column: ColumnMetadata, source: ObjectLiteral): unknown {
  let value: unknown = column.getEntityValue(source)
  if (value !== null && typeof value === 'object' && column.referencedColumn && !(value instanceof Date)) {
    value = column.referencedColumn.getEntityValue(value as ObjectLiteral)
  }
  return value
}

/**
 * The primary key of an entity or id map by property names (`id`, or `{ userId, groupId }` for a
 * composite key); undefined when a key column is missing.
 */
export function pkOf(metadata: EntityMetadata, source: ObjectLiteral | undefined): PrimaryKey | undefined {
  if (!source || typeof source !== 'object') return undefined
  const columns = metadata.primaryColumns
  if (columns.length === 0) return undefined
  if (columns.length === 1) return keyValue(columnValue(columns[0]!, source))
  const pk: Record<string, PrimaryKeyValue> = {}
  for (const column of columns) {
    const value = keyValue(columnValue(column, source))
    if (value === undefined) return undefined
    pk[column.propertyPath] = value
  }
  return pk
}

/** Primary key from an `entityId` given by TypeORM events: a bare value or an id map. */
export function pkOfId(metadata: EntityMetadata, id: unknown): PrimaryKey | undefined {
  if (id === undefined || id === null) return undefined
  if (typeof id !== 'object') return metadata.primaryColumns.length === 1 ? keyValue(id) : undefined
  return pkOf(metadata, id as ObjectLiteral)
}

/** The columns of an entity by property path; `undefined` values (not loaded, not written) are left out. */
export function imageOf(metadata: EntityMetadata, source: ObjectLiteral | undefined): RowImage | undefined {
  if (!source || typeof source !== 'object') return undefined
  const image: Record<string, unknown> = {}
  for (const column of metadata.columns) {
    if (column.isVirtualProperty) continue
    const value = columnValue(column, source)
    if (value !== undefined && typeof value !== 'function') image[column.propertyPath] = value
  }
  return image
}

/** Property paths of the columns a set of written values names (functions such as `() => "x + 1"` included). */
export function writtenPaths(metadata: EntityMetadata, values: ObjectLiteral | undefined): string[] {
  if (!values || typeof values !== 'object') return []
  const paths: string[] = []
  for (const column of metadata.columns) {
    if (column.getEntityValue(values) !== undefined) paths.push(column.propertyPath)
  }
  for (const relation of metadata.relations) {
    if (relation.getEntityValue(values) === undefined) continue
    paths.push(relation.propertyPath, ...relation.joinColumns.map((c) => c.propertyPath))
  }
  return [...new Set(paths)]
}

/** The key fields of a row as an image: what a delete knows for certain about the row it removed. */
export function keyImage(metadata: EntityMetadata, pk: PrimaryKey): RowImage {
  if (typeof pk === 'object') return pk
  return { [metadata.primaryColumns[0]!.propertyPath]: pk }
}
