import type { Change, PrimaryKey, RowImage } from '@freshkey/core'
import type {
  EntityMetadata,
  InsertEvent,
  ObjectLiteral,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  UpdateEvent,
} from 'typeorm'
import type { TypeORMAdapter } from './adapter.ts'
import { imageOf, pkOf, pkOfId, samePk } from './row-image.ts'

// Changes from the entity events of TypeORM's persistence (save / remove / softRemove / recover),
// which carry the rows: ids, the entity as written and the row TypeORM loaded before.

const bulk = (table: string): Change => ({ table, kind: 'bulk' })

/** Tables TypeORM writes beside the entity without events: closure tables, nested-set neighbours. */
function treeSideEffects(metadata: EntityMetadata): Change[] {
  if (metadata.treeType === 'closure-table' && metadata.closureJunctionTable)
    return [bulk(metadata.closureJunctionTable.tableName)]
  if (metadata.treeType === 'nested-set') return [bulk(metadata.tableName)]
  return []
}

export function insertChanges(event: InsertEvent<ObjectLiteral>): Change[] {
  const md = event.metadata
  const pk = pkOfId(md, event.entityId) ?? pkOf(md, event.entity)
  const row: Change =
    pk === undefined
      ? bulk(md.tableName)
      : { table: md.tableName, kind: 'insert', pk, after: imageOf(md, event.entity) }
  return [row, ...treeSideEffects(md)]
}

function changedPaths(event: UpdateEvent<ObjectLiteral>): string[] {
  const md = event.metadata
  const paths = event.updatedColumns.map((c) => c.propertyPath)
  for (const r of event.updatedRelations)
    paths.push(r.propertyPath, ...r.joinColumns.map((c) => c.propertyPath))
  // Columns the database or TypeORM sets on every update.
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) paths.push(c.propertyPath)
  return [...new Set(paths)]
}

export function updateChanges(
  adapter: TypeORMAdapter,
  event: UpdateEvent<ObjectLiteral>,
  readBefore?: RowImage,
): Change[] {
  const md = event.metadata
  const table = md.tableName
  const oldPk = pkOf(md, event.databaseEntity)
  const newPk = pkOf(md, event.entity as ObjectLiteral) ?? oldPk
  if (oldPk === undefined || newPk === undefined) return [bulk(table), ...treeSideEffects(md)]
  const before = readBefore
    ? { ...imageOf(md, event.databaseEntity), ...readBefore }
    : imageOf(md, event.databaseEntity)
  const after = imageOf(md, event.entity as ObjectLiteral)
  if (!samePk(oldPk, newPk)) {
    // A changed primary key: the old row left, a new one arrived (adapter contract).
    return [
      { table, kind: 'delete', pk: oldPk, before },
      { table, kind: 'insert', pk: newPk, after },
      ...adapter.cascades.onUpdate(table).map(bulk),
      ...treeSideEffects(md),
    ]
  }
  const changed = changedPaths(event)
  return [
    { table, kind: 'update', pk: oldPk, before, after, changed },
    // A referenced unique column (not the key) changed: ON UPDATE actions rewrite other tables.
    ...adapter.cascades.onUpdateOf(table, changed).map(bulk),
    ...treeSideEffects(md),
  ]
}

function removedPk(
  md: EntityMetadata,
  event: RemoveEvent<ObjectLiteral> | SoftRemoveEvent<ObjectLiteral>,
): PrimaryKey | undefined {
  return pkOfId(md, event.entityId) ?? pkOf(md, event.databaseEntity) ?? pkOf(md, event.entity)
}

export function removeChanges(
  adapter: TypeORMAdapter,
  event: RemoveEvent<ObjectLiteral>,
  readBefore?: RowImage,
): Change[] {
  const md = event.metadata
  const pk = removedPk(md, event)
  const before = readBefore ?? imageOf(md, event.databaseEntity)
  const row: Change =
    pk === undefined ? bulk(md.tableName) : { table: md.tableName, kind: 'delete', pk, before }
  return [row, ...adapter.deleteCascades(md.tableName), ...treeSideEffects(md)]
}

/** A soft-deleted row leaves every default query, so for scopes it is a delete. */
export function softRemoveChanges(event: SoftRemoveEvent<ObjectLiteral>, readBefore?: RowImage): Change[] {
  const md = event.metadata
  const pk = removedPk(md, event)
  const before = readBefore ?? imageOf(md, event.databaseEntity)
  return [pk === undefined ? bulk(md.tableName) : { table: md.tableName, kind: 'delete', pk, before }]
}

/** A recovered row comes back into default queries: an insert. */
export function recoverChanges(event: RecoverEvent<ObjectLiteral>): Change[] {
  const md = event.metadata
  const pk = pkOfId(md, event.entityId) ?? pkOf(md, event.entity) ?? pkOf(md, event.databaseEntity)
  return [
    pk === undefined
      ? bulk(md.tableName)
      : { table: md.tableName, kind: 'insert', pk, after: imageOf(md, event.entity ?? event.databaseEntity) },
  ]
}
