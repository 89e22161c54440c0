import type { EntityResolver } from '@freshkey/core/adapter'
import type { DataSource, EntityMetadata, ObjectLiteral } from 'typeorm'
import type { TypeORMBinding } from './binding.ts'
import { isEntitySchema } from './internals.ts'
import { pkOf } from './row-image.ts'

/** Metadata of an entity class, EntitySchema or entity name; undefined for anything else. */
export function metadataOfTarget(ds: DataSource, target: unknown): EntityMetadata | undefined {
  const key = isEntitySchema(target) ? (target.options.target ?? target.options.name) : target
  const ok = ds.isInitialized && (typeof key === 'function' || typeof key === 'string')
  return ok && ds.hasMetadata(key as string) ? ds.getMetadata(key as string) : undefined
}

/**
 * How `fk.keyFor(entity)` and `dep.scope(EntityClass, ...)` understand TypeORM: an entity is its
 * own row (relations it carries are not), a class / schema / name its table.
 */
export function createEntityResolver(binding: TypeORMBinding): EntityResolver {
  const ds = binding.dataSource
  return {
    identify(entity) {
      binding.scan()
      const ctor = (entity as { constructor?: unknown }).constructor
      const md =
        typeof ctor === 'function' && ctor !== Object
          ? metadataOfTarget(ds, ctor)?.findInheritanceMetadata(entity as ObjectLiteral)
          : binding.plainMetadata(entity)
      const pk = md ? pkOf(md, entity as ObjectLiteral) : undefined
      return md && pk !== undefined ? { table: md.tableName, pk } : undefined
    },
    tableOf(target) {
      binding.scan()
      return metadataOfTarget(ds, target)?.tableName
    },
  }
}
