import { canonicalPk, type RowImage } from '@freshkey/core'
import type {
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
import type { TypeORMAdapter } from './adapter.ts'
import { readBeforeImages } from './before-images.ts'
import { writeContext } from './context.ts'
import {
  insertChanges,
  recoverChanges,
  removeChanges,
  softRemoveChanges,
  updateChanges,
} from './entity-changes.ts'
import { pkOf } from './row-image.ts'

/** Events of a write query builder are recorded by its hook, which knows the WHERE; skip them here. */
const fromQueryBuilder = () => writeContext.getStore()?.queryBuilder === true

/** The subscriber instance placed in `dataSource.subscribers`. */
export interface FreshkeySubscriber extends EntitySubscriberInterface<ObjectLiteral> {
  readonly adapter: TypeORMAdapter
}

export function createSubscriber(adapter: TypeORMAdapter): FreshkeySubscriber {
  const befores = new WeakMap<object, RowImage>()

  const guard = <E>(run: (event: E) => Promise<void> | void) => {
    return (event: E): Promise<void> | void => {
      if (adapter.disposed) return
      try {
        const result = run(event)
        if (result) return result.catch((error) => adapter.report(error))
      } catch (error) {
        adapter.report(error)
      }
    }
  }

  const readBefore = async (
    runner: QueryRunner,
    key: object,
    event: { metadata: UpdateEvent<ObjectLiteral>['metadata'] },
    source: ObjectLiteral | undefined,
    fields: string[],
  ) => {
    const pk = pkOf(event.metadata, source)
    if (pk === undefined) return
    const images = await readBeforeImages(runner, event.metadata, [pk], fields)
    const image = images.get(canonicalPk(pk))
    if (image) befores.set(key, image)
  }

  const takeBefore = (key: object | undefined): RowImage | undefined => {
    if (!key) return undefined
    const image = befores.get(key)
    befores.delete(key)
    return image
  }

  return {
    adapter,
    afterTransactionStart: guard((e: TransactionStartEvent) => adapter.started(e.queryRunner)),
    afterTransactionCommit: guard((e: TransactionCommitEvent) => adapter.committed(e.queryRunner)),
    afterTransactionRollback: guard((e: TransactionRollbackEvent) => adapter.rolledBack(e.queryRunner)),

    beforeUpdate: guard((e: UpdateEvent<ObjectLiteral>) => {
      if (fromQueryBuilder() || !e.entity || !e.databaseEntity) return
      const fields = adapter.beforeFields(e.metadata.tableName)
      if (fields.length === 0) return
      const changed = [...e.updatedColumns, ...e.updatedRelations.flatMap((r) => r.joinColumns)].map(
        (c) => c.propertyPath,
      )
      if (!changed.some((f) => fields.includes(f)) && !e.updatedColumns.some((c) => c.isPrimary)) return
      return readBefore(e.queryRunner, e.entity, e, e.databaseEntity, fields)
    }),
    beforeRemove: guard((e: RemoveEvent<ObjectLiteral>) => {
      const key = e.entity ?? e.databaseEntity
      if (fromQueryBuilder() || !key) return
      const fields = adapter.beforeFields(e.metadata.tableName)
      if (fields.length > 0) return readBefore(e.queryRunner, key, e, e.databaseEntity ?? e.entity, fields)
    }),
    beforeSoftRemove: guard((e: SoftRemoveEvent<ObjectLiteral>) => {
      const key = e.entity ?? e.databaseEntity
      if (fromQueryBuilder() || !key) return
      const fields = adapter.beforeFields(e.metadata.tableName)
      if (fields.length > 0) return readBefore(e.queryRunner, key, e, e.databaseEntity ?? e.entity, fields)
    }),

    afterInsert: guard((e: InsertEvent<ObjectLiteral>) => {
      if (fromQueryBuilder()) return
      adapter.tagPlain(e.entity, e.metadata)
      return adapter.record(e.queryRunner, insertChanges(e))
    }),
    afterUpdate: guard((e: UpdateEvent<ObjectLiteral>) => {
      if (fromQueryBuilder()) return
      adapter.tagPlain(e.entity, e.metadata)
      return adapter.record(
        e.queryRunner,
        updateChanges(adapter, e, takeBefore(e.entity as object | undefined)),
      )
    }),
    afterRemove: guard((e: RemoveEvent<ObjectLiteral>) => {
      if (fromQueryBuilder()) return
      return adapter.record(
        e.queryRunner,
        removeChanges(adapter, e, takeBefore(e.entity ?? e.databaseEntity)),
      )
    }),
    afterSoftRemove: guard((e: SoftRemoveEvent<ObjectLiteral>) => {
      if (fromQueryBuilder()) return
      return adapter.record(e.queryRunner, softRemoveChanges(e, takeBefore(e.entity ?? e.databaseEntity)))
    }),
    afterRecover: guard((e: RecoverEvent<ObjectLiteral>) => {
      if (fromQueryBuilder()) return
      return adapter.record(e.queryRunner, recoverChanges(e))
    }),
  }
}

/** Tags plain-object entities as they load, so `keyFor` can name their table (EntitySchema without a class). */
export function plainLoadListener(
  adapter: TypeORMAdapter,
): (entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>) => void {
  return (entity, event) => {
    if (event) adapter.tagPlain(entity, event.metadata)
  }
}
