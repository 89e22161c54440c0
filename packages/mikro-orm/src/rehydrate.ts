import type { EntityData, EntityManager, EntityName } from '@mikro-orm/core'

/**
 * Entities from plain data a cache returned (`fk.wrap` hits are plain data): merged into `em`'s
 * identity map as managed and clean, so nothing is written on the next flush unless changed.
 * Relations present in the data are merged too. An entity the identity map already holds keeps
 * its own state (MikroORM's merge rule).
 */
export function rehydrate<T extends object>(
  em: EntityManager,
  entityName: EntityName<T>,
  data: EntityData<T>,
): T
export function rehydrate<T extends object>(
  em: EntityManager,
  entityName: EntityName<T>,
  data: readonly EntityData<T>[],
): T[]
export function rehydrate<T extends object>(
  em: EntityManager,
  entityName: EntityName<T>,
  data: EntityData<T> | readonly EntityData<T>[],
): T | T[] {
  const one = (d: EntityData<T>) => em.merge(entityName, d, { convertCustomTypes: true } as never) as T
  return Array.isArray(data) ? (data as EntityData<T>[]).map(one) : one(data as EntityData<T>)
}
