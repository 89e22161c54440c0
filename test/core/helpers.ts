import { memoryStore, type Store, StoreUnavailableError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { serviceUrl } from '../support/services.ts'

/** One backing store the token-engine suites run against. */
export interface StoreCase {
  readonly name: string
  make(): Store
}

/** memoryStore always; redisStore on the run's throwaway redis-server (fails under CI=true when missing). */
export function storeCases(): StoreCase[] {
  const cases: StoreCase[] = [{ name: 'memoryStore', make: () => memoryStore() }]
  const url = serviceUrl('REDIS_URL')
  if (url) cases.push({ name: 'redisStore', make: () => redisStore(url) })
  return cases
}

let seq = 0
/** A namespace no other test (or earlier run on the same Redis) uses. */
export const freshNamespace = (label = 'core') =>
  `${label}-${process.pid}-${Date.now().toString(36)}-${seq++}`

type StoreMethod = keyof Store

/** A store wrapper that counts calls per method and can make chosen methods fail like an unreachable store. */
export interface CountingStore {
  readonly store: Store
  readonly calls: Record<string, number>
  /** Arguments of every call, per method. */
  readonly args: Record<string, unknown[][]>
  /** Methods that currently reject with `StoreUnavailableError`. */
  readonly failing: Set<StoreMethod>
  reset(): void
}

export function counting(inner: Store): CountingStore {
  const calls: Record<string, number> = {}
  const args: Record<string, unknown[][]> = {}
  const failing = new Set<StoreMethod>()
  const store = new Proxy(inner, {
    get(target, prop) {
      // Bound to the real store: RedisStore keeps #private state a proxy receiver cannot reach.
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      // A synchronous answer from the client's own state, not a round trip.
      if (prop === 'generation') return value.bind(target)
      return (...a: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1
        const list = args[prop] ?? []
        args[prop] = list
        list.push(a)
        if (failing.has(prop as StoreMethod))
          return Promise.reject(new StoreUnavailableError(`simulated: ${prop} failed`))
        return value.apply(target, a)
      }
    },
  })
  return {
    store,
    calls,
    args,
    failing,
    reset() {
      for (const k of Object.keys(calls)) delete calls[k]
      for (const k of Object.keys(args)) delete args[k]
    },
  }
}
