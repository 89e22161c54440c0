import { ConfigError, type Freshkey, type WrapOptions } from '@freshkey/core'
import { Inject } from '@nestjs/common'
import { NotInjectedError } from './errors.ts'
import { CACHED_FRESHKEY, FRESHKEY } from './tokens.ts'

/** Options of {@link Cached}. */
export interface CachedMethodOptions<A extends unknown[] = any[]> {
  /** ttl: seconds the value stays fresh. Default: the module's `ttl`. */
  ttl?: number
  /** staleWhileRevalidate: seconds a stale value may still be served while one refresh runs. Default 0. */
  staleWhileRevalidate?: number
  /**
   * The key: a string replaces the `Class.method` name (use it when two classes share a name); a
   * function returns the key parts to use instead of the arguments (e.g. `(id, options) => [id]`).
   * Default: `Class.method` and every argument.
   */
  key?: string | ((...args: A) => readonly unknown[])
  /**
   * Dependencies of one call (`dep.row(...)`, entities, `dep.tag(...)`): a bump of any of them
   * makes the next call load again. Default: none, so only `ttl` ends an entry.
   */
  deps?: (...args: A) => readonly unknown[]
  /** Cache a result of `undefined` (not cached by default). */
  cacheUndefined?: boolean
}

type Method<A extends unknown[]> = (this: unknown, ...args: A) => unknown

/**
 * Caches a method of a Nest provider or controller with `fk.wrap([name, ...args, ...deps], ...)`:
 * the freshkey instance is the one of the `FreshkeyModule` in the app that created the object
 * (injected into it by Nest), looked up at call time. The method's result becomes a promise.
 * Legacy (`experimentalDecorators`) method decorator, as Nest itself uses.
 *
 * @example
 * @Cached({ ttl: 60, deps: (id: number) => [dep.row('posts', id)] })
 * async findOne(id: number) { ... }
 */
export function Cached<A extends unknown[] = any[]>(options: CachedMethodOptions<A> = {}): MethodDecorator {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('@Cached() takes an options object')
  const { key, deps } = options
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'function') {
    throw new ConfigError('@Cached(): `key` must be a string or a function returning key parts')
  }
  if (deps !== undefined && typeof deps !== 'function') {
    throw new ConfigError('@Cached(): `deps` must be a function (...args) => dependencies')
  }
  const wrapOptions: WrapOptions = {}
  if (options.ttl !== undefined) wrapOptions.ttl = options.ttl
  if (options.staleWhileRevalidate !== undefined)
    wrapOptions.staleWhileRevalidate = options.staleWhileRevalidate
  if (options.cacheUndefined !== undefined) wrapOptions.cacheUndefined = options.cacheUndefined

  return (target, propertyKey, descriptor) => {
    const original = descriptor.value as unknown
    if (typeof target === 'function' || typeof original !== 'function') {
      throw new ConfigError(`@Cached() decorates instance methods; ${String(propertyKey)} is not one`)
    }
    const method = original as Method<A>
    const name = typeof key === 'string' ? key : `${target.constructor.name}.${String(propertyKey)}`
    injectOnce(target)
    const cached = function (this: { [CACHED_FRESHKEY]?: Freshkey } | undefined, ...args: A) {
      const fk = this?.[CACHED_FRESHKEY]
      if (!fk) return Promise.reject(new NotInjectedError(name))
      const keyParts = typeof key === 'function' ? key(...args) : args
      const depParts = deps ? deps(...args) : []
      return fk.wrap([name, ...keyParts, ...depParts], () => method.apply(this, args), wrapOptions)
    }
    copyMetadata(method, cached)
    Object.defineProperty(cached, 'name', { value: method.name })
    descriptor.value = cached as typeof descriptor.value
    return descriptor
  }
}

const injected = new WeakSet<object>()

/** Property injection of the module's instance, once per class: `instance[CACHED_FRESHKEY] = fk`. */
function injectOnce(prototype: object): void {
  if (injected.has(prototype)) return
  injected.add(prototype)
  Inject(FRESHKEY)(prototype, CACHED_FRESHKEY)
}

// Decorators applied before @Cached() (those below it) put their metadata on the original
// function, e.g. @Get()'s route: the replacement must carry it too.
function copyMetadata(from: object, to: object): void {
  const reflect = Reflect as unknown as {
    getOwnMetadataKeys?: (target: object) => unknown[]
    getOwnMetadata?: (key: unknown, target: object) => unknown
    defineMetadata?: (key: unknown, value: unknown, target: object) => void
  }
  if (!reflect.getOwnMetadataKeys || !reflect.getOwnMetadata || !reflect.defineMetadata) return
  for (const metadataKey of reflect.getOwnMetadataKeys(from)) {
    reflect.defineMetadata(metadataKey, reflect.getOwnMetadata(metadataKey, from), to)
  }
}
