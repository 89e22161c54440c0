import type { DeepPartial, ObjectLiteral, Repository } from 'typeorm'

/**
 * Turns what `fk.wrap` / `fk.cached` returned (plain data: the cache stores values, not class
 * instances) back into entities of the repository's class, nested relations included
 * (`repository.create`). TypeORM keeps no unit of work, so nothing is marked dirty: `save()` of a
 * rehydrated entity still compares it with the row in the database.
 */
export function rehydrate<T extends ObjectLiteral>(
  repository: Repository<T>,
  plain: readonly DeepPartial<T>[],
): T[]
export function rehydrate<T extends ObjectLiteral>(repository: Repository<T>, plain: DeepPartial<T>): T
export function rehydrate(repository: Repository<ObjectLiteral>, plain: DeepPartial<ObjectLiteral>): unknown {
  return repository.create(plain)
}
