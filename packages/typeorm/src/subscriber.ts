import type { PrimaryKey } from '@freshkey/core'
import type { WriteFact } from '@freshkey/core/adapter'
import type {
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  LoadEvent,
  ObjectLiteral,
  QueryRunner,
  RemoveEvent,
  SoftRemoveEvent,
  UpdateEvent,
} from 'typeorm'
import type { TypeORMBinding } from './binding.ts'
import { writeContext } from './internals.ts'
import { imageOf, keyImage, pkOf, pkOfId } from './row-image.ts'

// Entity events of TypeORM's persistence (save / remove / softRemove / recover) carry the rows;
// transaction events drive the binding's frames. No event reads anything from the database.

export type FreshkeySubscriber = EntitySubscriberInterface<ObjectLiteral> & {
  readonly binding: TypeORMBinding
}
type Verb = 'insert' | 'update' | 'delete'

const bulk = (table: string, verb: Verb): WriteFact => ({ table, kind: 'bulk', verb })

/** Tables TypeORM writes beside the entity without events: closure tables, nested-set neighbours. */
function tree(md: EntityMetadata, verb: Verb): WriteFact[] {
  if (md.treeType === 'closure-table' && md.closureJunctionTable)
    return [bulk(md.closureJunctionTable.tableName, verb)]
  return md.treeType === 'nested-set' ? [bulk(md.tableName, 'update')] : []
}

function inserted(md: EntityMetadata, pk: PrimaryKey | undefined, entity: unknown): WriteFact {
  const after = imageOf(md, entity)
  return pk === undefined
    ? bulk(md.tableName, 'insert')
    : { table: md.tableName, kind: 'insert', pk, ...(after && { after }) }
}

/** A soft-deleted row leaves every default query: for caches it is a delete (and a recovered one an insert). */
function removed(e: RemoveEvent<ObjectLiteral> | SoftRemoveEvent<ObjectLiteral>): WriteFact {
  const md = e.metadata
  const pk = pkOfId(md, e.entityId) ?? pkOf(md, e.databaseEntity) ?? pkOf(md, e.entity)
  return pk === undefined
    ? bulk(md.tableName, 'delete')
    : { table: md.tableName, kind: 'delete', pk, before: keyImage(md, pk) }
}

function updated(e: UpdateEvent<ObjectLiteral>): WriteFact {
  const md = e.metadata
  const changed = [...e.updatedColumns.map((c) => c.propertyPath)]
  for (const r of e.updatedRelations)
    changed.push(r.propertyPath, ...r.joinColumns.map((c) => c.propertyPath))
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) changed.push(c.propertyPath)
  // databaseEntity names the row the UPDATE targeted; its other values were loaded earlier and are not trusted.
  const pk = pkOf(md, e.databaseEntity) ?? pkOf(md, e.entity)
  const newPk = pkOf(md, e.entity)
  const after = imageOf(md, e.entity)
  if (pk === undefined) return { table: md.tableName, kind: 'bulk', verb: 'update', changed }
  return {
    table: md.tableName,
    kind: 'update',
    pk,
    ...(newPk !== undefined && { newPk }),
    ...(after && { after }),
    changed,
  }
}

export function createSubscriber(binding: TypeORMBinding): FreshkeySubscriber {
  // Events of a write query builder are recorded by its hook, which knows the WHERE.
  const record = (runner: QueryRunner, facts: () => WriteFact[]) => {
    if (binding.disposed || writeContext.getStore()?.queryBuilder) return
    try {
      return binding.record(runner, facts(), runner.isTransactionActive)
    } catch (error) {
      binding.report('event', error)
    }
  }
  const seen = (runner: QueryRunner) => {
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
    afterInsert: (e: InsertEvent<ObjectLiteral>) => {
      binding.tagPlain(e.entity, e.metadata)
      const pk = () => pkOfId(e.metadata, e.entityId) ?? pkOf(e.metadata, e.entity)
      return record(e.queryRunner, () => [
        inserted(e.metadata, pk(), e.entity),
        ...tree(e.metadata, 'insert'),
      ])
    },
    afterUpdate: (e) => {
      binding.tagPlain(e.entity, e.metadata)
      return record(e.queryRunner, () => [updated(e), ...tree(e.metadata, 'update')])
    },
    afterRemove: (e) => record(e.queryRunner, () => [removed(e), ...tree(e.metadata, 'delete')]),
    afterSoftRemove: (e) => record(e.queryRunner, () => [removed(e)]),
    afterRecover: (e) => {
      const pk = () =>
        pkOfId(e.metadata, e.entityId) ?? pkOf(e.metadata, e.entity) ?? pkOf(e.metadata, e.databaseEntity)
      return record(e.queryRunner, () => [inserted(e.metadata, pk(), e.entity ?? e.databaseEntity)])
    },
  }
}

/** Tags plain-object entities as they load, so `keyFor` knows their table (set only when such entities exist). */
export const plainLoadListener =
  (binding: TypeORMBinding) => (entity: ObjectLiteral, e?: LoadEvent<ObjectLiteral>) => {
    if (e && typeof e.metadata.target !== 'function') binding.tagPlain(entity, e.metadata)
  }
