import type { DeepPartial, ObjectLiteral, Repository } from 'typeorm'

/**
 * Turns what `fk.wrap` / `fk.cached` returned (plain data: the cache stores values, not class
 * instances) back into entities of the repository's class, nested relations included
 * (`repository.create`). TypeORM keeps no unit of work, so nothing is marked dirty: `save()` of a
 * rehydrated entity still compares it with the row in the database. The query result cache needs
 * none of this: TypeORM builds real entities from its cached raw rows.
 */
export function rehydrate<T extends ObjectLiteral>(
  repository: Repository<T>,
  plain: readonly DeepPartial<T>[],
): T[]
export function rehydrate<T extends ObjectLiteral>(repository: Repository<T>, plain: DeepPartial<T>): T
export function rehydrate<T extends ObjectLiteral>(repository: Repository<T>, plain: null | undefined): null
export function rehydrate<T extends ObjectLiteral>(
  repository: Repository<T>,
  plain: DeepPartial<T> | readonly DeepPartial<T>[] | null | undefined,
): T | T[] | null {
  if (plain === null || plain === undefined) return null
  return Array.isArray(plain)
    ? repository.create(plain as DeepPartial<T>[])
    : repository.create(plain as DeepPartial<T>)
}
