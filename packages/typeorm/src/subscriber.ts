import type { PrimaryKey } from '@freshkey/core'
import type { WriteFact } from '@freshkey/core/adapter'
import type * as orm from 'typeorm'
import type { TypeORMBinding } from './binding.ts'
import { writeContext } from './internals.ts'
import { imageOf, keyImage, pkOf, pkOfId } from './row-image.ts'

// Entity events of TypeORM's persistence (save / remove / softRemove / recover) carry the rows;
// transaction events drive the binding's frames. No event reads anything from the database.

export type FreshkeySubscriber = orm.EntitySubscriberInterface<Entity> & {
  readonly binding: TypeORMBinding
}
type Verb = 'insert' | 'update' | 'delete'
type Entity = orm.ObjectLiteral

const bulk = (table: string, verb: Verb): WriteFact => ({ table, kind: 'bulk', verb })

/** Tables TypeORM writes beside the entity without events: closure tables, nested-set neighbours. */
function tree(md: orm.EntityMetadata, verb: Verb): WriteFact[] {
  if (md.treeType === 'closure-table' && md.closureJunctionTable)
    return [bulk(md.closureJunctionTable.tableName, verb)]
  return md.treeType === 'nested-set' ? [bulk(md.tableName, 'update')] : []
}

function inserted(md: orm.EntityMetadata, pk: PrimaryKey | undefined, entity: unknown): WriteFact {
  const [table, after] = [md.tableName, imageOf(md, entity)]
  return pk === undefined ? bulk(table, 'insert') : { table, kind: 'insert', pk, ...(after && { after }) }
}

type Keyed = { metadata: orm.EntityMetadata; entityId?: unknown; databaseEntity?: Entity; entity?: unknown }
const keyOf = (e: Keyed) =>
  pkOfId(e.metadata, e.entityId) ?? pkOf(e.metadata, e.databaseEntity) ?? pkOf(e.metadata, e.entity)

/** A soft-deleted row leaves every default query: for caches it is a delete (and a recovered one an insert). */
function removed(e: orm.RemoveEvent<Entity> | orm.SoftRemoveEvent<Entity>): WriteFact {
  const [table, pk] = [e.metadata.tableName, keyOf(e)]
  return pk === undefined
    ? bulk(table, 'delete')
    : { table, kind: 'delete', pk, before: keyImage(e.metadata, pk) }
}

function updated(e: orm.UpdateEvent<Entity>): WriteFact {
  const md = e.metadata
  const table = md.tableName
  const paths = (cols: readonly { propertyPath: string }[]) => cols.map((c) => c.propertyPath)
  const changed = paths(e.updatedColumns)
  for (const r of e.updatedRelations) changed.push(r.propertyPath, ...paths(r.joinColumns))
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) changed.push(c.propertyPath)
  // databaseEntity names the row the UPDATE targeted; its other values were loaded earlier and are not trusted.
  const pk = pkOf(md, e.databaseEntity) ?? pkOf(md, e.entity)
  const newPk = pkOf(md, e.entity)
  const after = imageOf(md, e.entity)
  if (pk === undefined) return { table, kind: 'bulk', verb: 'update', changed }
  return {
    table,
    kind: 'update',
    pk,
    ...(newPk !== undefined && { newPk }),
    ...(after && { after }),
    changed,
  }
}

export function createSubscriber(binding: TypeORMBinding): FreshkeySubscriber {
  // Events of a write query builder are recorded by its hook, which knows the WHERE.
  const record = (runner: orm.QueryRunner, facts: () => WriteFact[]) => {
    if (binding.disposed || writeContext.getStore()?.queryBuilder) return
    try {
      return binding.record(runner, facts(), runner.isTransactionActive)
    } catch (error) {
      binding.report('event', error)
    }
  }
  const seen = (runner: orm.QueryRunner) => {
    binding.seen.add(runner)
    return !binding.disposed
  }
  return {
    binding,
    afterTransactionStart: ({ queryRunner: r }) => void (seen(r) && binding.frames.begin(r)),
    // TypeORM awaits what this returns before COMMIT: the fence starts here and is awaited after it.
    beforeTransactionCommit: ({ queryRunner: r }) => void (seen(r) && binding.frames.beforeCommit(r)),
    afterTransactionCommit: ({ queryRunner: r }) => (seen(r) ? binding.frames.afterCommit(r) : undefined),
    afterTransactionRollback: ({ queryRunner: r }) => void (seen(r) && binding.frames.afterRollback(r)),
    afterInsert: (e: orm.InsertEvent<Entity>) => {
      binding.tagPlain(e.entity, e.metadata)
      return record(e.queryRunner, () => [
        inserted(e.metadata, keyOf(e), e.entity),
        ...tree(e.metadata, 'insert'),
      ])
    },
    afterUpdate: (e) => {
      binding.tagPlain(e.entity, e.metadata)
      return record(e.queryRunner, () => [updated(e), ...tree(e.metadata, 'update')])
    },
    afterRemove: (e) => record(e.queryRunner, () => [removed(e), ...tree(e.metadata, 'delete')]),
    afterSoftRemove: (e) => record(e.queryRunner, () => [removed(e)]),
    afterRecover: (e) =>
      record(e.queryRunner, () => [inserted(e.metadata, keyOf(e), e.entity ?? e.databaseEntity)]),
  }
}

/** Tags plain-object entities as they load, so `keyFor` knows their table (set only when such entities exist). */
export const plainLoadListener = (binding: TypeORMBinding) => (entity: Entity, e?: orm.LoadEvent<Entity>) => {
  if (e && typeof e.metadata.target !== 'function') binding.tagPlain(entity, e.metadata)
}
