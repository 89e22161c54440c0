import type { WriteFact } from '@freshkey/core/adapter'
import type {
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  LoadEvent,
  ObjectLiteral,
  QueryRunner,
  RecoverEvent,
  RemoveEvent,
  SoftRemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
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

const bulk = (table: string, verb: 'insert' | 'update' | 'delete'): WriteFact => ({
  table,
  kind: 'bulk',
  verb,
})

/** Tables TypeORM writes beside the entity without events: closure tables, nested-set neighbours. */
function tree(md: EntityMetadata, verb: 'insert' | 'update' | 'delete'): WriteFact[] {
  if (md.treeType === 'closure-table' && md.closureJunctionTable)
    return [bulk(md.closureJunctionTable.tableName, verb)]
  if (md.treeType === 'nested-set') return [bulk(md.tableName, 'update')]
  return []
}

function changedPaths(e: UpdateEvent<ObjectLiteral>): string[] {
  const md = e.metadata
  const paths = e.updatedColumns.map((c) => c.propertyPath)
  for (const r of e.updatedRelations) paths.push(r.propertyPath, ...r.joinColumns.map((c) => c.propertyPath))
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) paths.push(c.propertyPath)
  return [...new Set(paths)]
}

function inserted(
  md: EntityMetadata,
  pk: ReturnType<typeof pkOf>,
  entity: ObjectLiteral | undefined,
): WriteFact {
  const after = imageOf(md, entity)
  return pk === undefined
    ? bulk(md.tableName, 'insert')
    : { table: md.tableName, kind: 'insert', pk, ...(after ? { after } : {}) }
}

/** A soft-deleted row leaves every default query: for caches it is a delete (and a recovered one an insert). */
function removed(
  md: EntityMetadata,
  e: RemoveEvent<ObjectLiteral> | SoftRemoveEvent<ObjectLiteral>,
): WriteFact {
  const pk = pkOfId(md, e.entityId) ?? pkOf(md, e.databaseEntity) ?? pkOf(md, e.entity)
  return pk === undefined
    ? bulk(md.tableName, 'delete')
    : { table: md.tableName, kind: 'delete', pk, before: keyImage(md, pk) }
}

function updated(e: UpdateEvent<ObjectLiteral>): WriteFact {
  const md = e.metadata
  const changed = changedPaths(e)
  const pk = pkOf(md, e.databaseEntity) ?? pkOf(md, e.entity as ObjectLiteral)
  const newPk = pkOf(md, e.entity as ObjectLiteral)
  if (pk === undefined) return { table: md.tableName, kind: 'bulk', verb: 'update', changed }
  const after = imageOf(md, e.entity as ObjectLiteral)
  return {
    table: md.tableName,
    kind: 'update',
    pk,
    ...(newPk !== undefined ? { newPk } : {}),
    ...(after ? { after } : {}),
    changed,
  }
}

export function createSubscriber(binding: TypeORMBinding): FreshkeySubscriber {
  // Events of a write query builder are recorded by its hook, which knows the WHERE.
  const record = (runner: QueryRunner, facts: WriteFact[]) => {
    if (binding.disposed || writeContext.getStore()?.queryBuilder) return
    try {
      return binding.record(runner, facts, runner.isTransactionActive)
    } catch (error) {
      binding.report('event', error)
    }
  }
  const frame = (e: { queryRunner: QueryRunner }) => {
    binding.seen.add(e.queryRunner)
    return !binding.disposed
  }
  return {
    binding,
    afterTransactionStart: (e: TransactionStartEvent) => {
      if (frame(e)) binding.frames.begin(e.queryRunner)
    },
    // TypeORM awaits what this returns before COMMIT: the fence starts here and is awaited after it.
    beforeTransactionCommit: (e: TransactionCommitEvent) => {
      if (frame(e)) binding.frames.beforeCommit(e.queryRunner)
    },
    afterTransactionCommit: (e: TransactionCommitEvent) =>
      frame(e) ? binding.frames.afterCommit(e.queryRunner) : undefined,
    afterTransactionRollback: (e: TransactionRollbackEvent) => {
      if (frame(e)) binding.frames.afterRollback(e.queryRunner)
    },
    afterInsert: (e: InsertEvent<ObjectLiteral>) => {
      binding.tagPlain(e.entity, e.metadata)
      return record(e.queryRunner, [
        inserted(e.metadata, pkOfId(e.metadata, e.entityId) ?? pkOf(e.metadata, e.entity), e.entity),
        ...tree(e.metadata, 'insert'),
      ])
    },
    afterUpdate: (e: UpdateEvent<ObjectLiteral>) => {
      binding.tagPlain(e.entity, e.metadata)
      return record(e.queryRunner, [updated(e), ...tree(e.metadata, 'update')])
    },
    afterRemove: (e: RemoveEvent<ObjectLiteral>) =>
      record(e.queryRunner, [removed(e.metadata, e), ...tree(e.metadata, 'delete')]),
    afterSoftRemove: (e: SoftRemoveEvent<ObjectLiteral>) => record(e.queryRunner, [removed(e.metadata, e)]),
    afterRecover: (e: RecoverEvent<ObjectLiteral>) => {
      const md = e.metadata
      const pk = pkOfId(md, e.entityId) ?? pkOf(md, e.entity) ?? pkOf(md, e.databaseEntity)
      return record(e.queryRunner, [inserted(md, pk, e.entity ?? e.databaseEntity)])
    },
  }
}

/** Tags plain-object entities as they load, so `keyFor` knows their table (only set when such entities exist). */
export function plainLoadListener(binding: TypeORMBinding) {
  return (entity: ObjectLiteral, e?: LoadEvent<ObjectLiteral>) => {
    if (e && typeof e.metadata.target !== 'function') binding.tagPlain(entity, e.metadata)
  }
}
