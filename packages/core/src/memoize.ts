import { boundKey, canonical, segment } from './encoding.ts'
import { ConfigError, NotCachedError } from './errors.ts'

/** Options of `fk.cached` and the `@fk.cache()` decorator. */
export interface CachedOptions<A extends unknown[]> {
  /** Readable key prefix. Default: the function's name (required for anonymous functions). */
  name?: string
  /** ttl: seconds or `'5m'`. */
  ttl?: number | string
  /** staleWhileRevalidate: seconds or `'30s'`. */
  staleWhileRevalidate?: number | string
  /**
   * Dependencies of one call, declared by hand (a dependency or an array), added to those found
   * automatically in the ORM queries the function runs.
   */
  deps?: (...args: A) => unknown
  /** Cache a result of `undefined`. */
  cacheUndefined?: boolean
  /** timeout: how long a call waits for the function (seconds or `'2s'`). */
  timeout?: number | string
}

/** A memoized function: the same call signature plus cache controls. */
export interface CachedFunction<A extends unknown[], R> {
  (...args: A): Promise<Awaited<R>>
  /** Drops the cached value of these arguments. */
  invalidate(...args: A): Promise<void>
  /** Recomputes and stores the value of these arguments now. */
  refresh(...args: A): Promise<Awaited<R>>
  /** The cached fresh value of these arguments; throws `NotCachedError` when there is none. */
  peek(...args: A): Promise<Awaited<R>>
  /** The store key of these arguments. */
  keyOf(...args: A): string
}

/** What memoization needs from its freshkey instance. */
export interface MemoHost {
  entryKey(body: string): string
  declared(deps: unknown, label: string): string[]
  call<T>(
    entryKey: string,
    declared: readonly string[],
    run: () => Promise<unknown>,
    options: object,
    force: boolean,
  ): Promise<T>
  drop(entryKey: string): Promise<void>
  peek(entryKey: string): Promise<{ found: boolean; value?: unknown }>
}

/** Builds a memoized function; `nameOf(self)` names the key (the decorator needs the instance's class). */
export function memoize<A extends unknown[], R>(
  host: MemoHost,
  fn: (...args: A) => R,
  options: CachedOptions<A>,
  nameOf: (self: unknown) => string,
): CachedFunction<A, R> & ((this: unknown, ...args: A) => Promise<Awaited<R>>) {
  if (typeof fn !== 'function') throw new ConfigError('cached needs a function')
  if (options.deps !== undefined && typeof options.deps !== 'function')
    throw new ConfigError('cached: `deps` must be a function of the arguments: (id) => [dep.row(...)]')
  const keyOf = (self: unknown, args: A): string => {
    const name = nameOf(self)
    if (!name) throw new ConfigError('cached: an anonymous function needs `options.name`')
    return host.entryKey(`m:${boundKey(`${segment(name)}:${canonical(args, 'args')}`)}`)
  }
  const declared = (args: A) => (options.deps ? host.declared(options.deps(...args), 'deps') : [])
  const invoke = (self: unknown, args: A, force: boolean) =>
    host.call<Awaited<R>>(
      keyOf(self, args),
      declared(args),
      async () => await fn.apply(self, args),
      options,
      force,
    )
  const call = async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    return invoke(this, args, false)
  }
  return Object.assign(call, {
    invalidate: (...args: A) => host.drop(keyOf(undefined, args)),
    refresh: async function (this: unknown, ...args: A): Promise<Awaited<R>> {
      return invoke(this, args, true)
    },
    peek: async (...args: A): Promise<Awaited<R>> => {
      const key = keyOf(undefined, args)
      const found = await host.peek(key)
      if (!found.found) throw new NotCachedError(key)
      return found.value as Awaited<R>
    },
    keyOf: (...args: A) => keyOf(undefined, args),
  })
}

/**
 * A method decorator that memoizes per class (not per instance), standard (TypeScript 5) or
 * legacy form. The key name is `Class.method` unless `options.name` is given.
 */
export function cacheDecorator<A extends unknown[]>(fk: () => MemoHost, options: CachedOptions<A>) {
  return function decorate(target: any, context: any, descriptor?: PropertyDescriptor): any {
    const legacy = descriptor !== undefined
    const method = legacy ? descriptor.value : target
    const methodName = String(legacy ? context : context?.name)
    const className = legacy
      ? typeof target === 'function'
        ? target.name
        : target.constructor?.name
      : undefined
    let memo: ((this: unknown, ...args: A) => Promise<unknown>) | undefined
    const nameOf = (self: unknown) =>
      options.name ??
      `${className ?? (self as { constructor?: { name?: string } })?.constructor?.name ?? 'anonymous'}.${methodName}`
    const replacement = function (this: unknown, ...args: A) {
      memo ??= memoize(fk(), method, options, nameOf)
      return memo.apply(this, args)
    }
    if (legacy) return { ...descriptor, value: replacement }
    return replacement
  }
}
