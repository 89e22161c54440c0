import type { EntityResolver } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import type { TypeORMAdapter } from './adapter.ts'
import { isEntitySchema } from './internals.ts'
import { pkOf } from './row-image.ts'

/** Metadata of an entity class, EntitySchema or entity name; undefined for anything else. */
export function metadataOfTarget(adapter: TypeORMAdapter, target: unknown): EntityMetadata | undefined {
  const ds = adapter.dataSource
  if (!ds.isInitialized) return undefined
  let key: unknown
  if (typeof target === 'function' || typeof target === 'string') key = target
  else if (isEntitySchema(target)) key = target.options.target ?? target.options.name
  else return undefined
  try {
    return ds.hasMetadata(key as string) ? ds.getMetadata(key as string) : undefined
  } catch {
    return undefined
  }
}

/** Metadata of an entity instance: by its class, or by the tag a plain-object entity got when loaded or saved. */
export function metadataOfEntity(adapter: TypeORMAdapter, entity: object): EntityMetadata | undefined {
  const ctor = (entity as { constructor?: unknown }).constructor
  if (typeof ctor === 'function' && ctor !== Object) {
    const md = metadataOfTarget(adapter, ctor)
    if (md) return md.findInheritanceMetadata(entity as ObjectLiteral)
  }
  return adapter.plainMetadata(entity)
}

/**
 * How `fk.keyFor(entity)` and `dep.scope(EntityClass, ...)` understand TypeORM: an entity becomes
 * its own row (relations it carries do not), a class/schema/name its table.
 */
export function createEntityResolver(adapter: TypeORMAdapter): EntityResolver {
  return {
    identify(entity) {
      adapter.ensureMetadata()
      const md = metadataOfEntity(adapter, entity)
      const pk = md ? pkOf(md, entity as ObjectLiteral) : undefined
      return md && pk !== undefined ? { table: md.tableName, pk } : undefined
    },
    tableOf(target) {
      adapter.ensureMetadata()
      return metadataOfTarget(adapter, target)?.tableName
    },
  }
}
