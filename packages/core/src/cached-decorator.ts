import type { CachedOptions, Freshkey } from './freshkey.ts'

/**
 * Method decorator form of `fk.cached`: `@cached(fk, { deps: (id) => [dep.row('users', id)] })`.
 * Same as `@fk.cache(...)`; standard (TypeScript 5) and legacy decorators both work.
 */
export function cached<A extends unknown[]>(fk: Freshkey, options: CachedOptions<A> = {}) {
  return fk.cache(options)
}
