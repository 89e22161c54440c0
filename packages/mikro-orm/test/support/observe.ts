import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { channels, type Freshkey, type Store } from '@freshkey/core'

/** Collects every bump `fk` publishes (one entry per store call), through freshkey's diagnostics channel. */
export function watchBumps(fk: Freshkey): {
  readonly calls: string[][]
  bumped(...deps: unknown[]): boolean
  reset(): void
  stop(): void
} {
  const calls: string[][] = []
  const listener = (message: unknown) => {
    const m = message as { namespace: string; keys: readonly string[] }
    if (m.namespace === fk.namespace) calls.push([...m.keys])
  }
  subscribe(channels.invalidate, listener)
  return {
    calls,
    /** True when some store call bumped a token key of every given dependency: a value depending on it misses. */
    bumped(...deps: unknown[]) {
      const seen = new Set(calls.flat())
      return deps.every((d) => fk.tokenKeysOf([d]).some((k) => seen.has(k)))
    },
    reset() {
      calls.length = 0
    },
    stop() {
      unsubscribe(channels.invalidate, listener)
    },
  }
}

/** Wraps a store so the test sees the order of its bump calls among other events. */
export function orderedStore(store: Store, log: string[]): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop === 'bump' && typeof value === 'function') {
        return async (...args: unknown[]) => {
          log.push('store.bump')
          return value.apply(target, args)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

/** A MikroORM query log line without colors, `[query] ` prefix and timing suffix. */
export function queryText(message: string): string {
  return message
    .replace(ANSI, '')
    .replace(/^\[query\] /, '')
    .replace(/ \[took.*$/, '')
}
