import { channel } from 'node:diagnostics_channel'

/** Counters reported by `fk.stats()`. */
export interface FreshkeyStats {
  /** Fresh values served from the cache. */
  hits: number
  /** Lookups that found no fresh value. */
  misses: number
  /** Previous values served while a refresh ran (stale-while-revalidate). */
  staleServed: number
  /** Loader calls. */
  loads: number
  /** Loader calls that threw. */
  loadErrors: number
  /** Bumps published (commits, `changed`, `invalidate`). */
  invalidations: number
  /** Reads that skipped the cache: inside a transaction that touched them, or while the store was down. */
  bypasses: number
  /** Store operations that failed. */
  storeErrors: number
  /** Errors adapters swallowed so a database write would not fail (`fk.reportError`). */
  adapterErrors: number
  /** Hits served from the near cache (counted in `hits` too). */
  nearHits: number
  /** Loaded values stored. */
  fills: number
  /** Loaded values not stored because something they depend on changed during the load. */
  fillsRefused: number
}

/** Payloads of the `freshkey:*` diagnostics channels. */
export interface FreshkeyEvents {
  'freshkey:hit': { namespace: string; key: string }
  'freshkey:miss': { namespace: string; key: string }
  'freshkey:stale': { namespace: string; key: string }
  'freshkey:load': { namespace: string; key: string; durationMs: number; error?: unknown }
  'freshkey:invalidate': { namespace: string; keys: readonly string[] }
  'freshkey:error': { namespace: string; operation: string; error: unknown }
}

/** Channel names, for `diagnostics_channel.subscribe(name, fn)`. */
export const channels = {
  hit: 'freshkey:hit',
  miss: 'freshkey:miss',
  stale: 'freshkey:stale',
  load: 'freshkey:load',
  invalidate: 'freshkey:invalidate',
  error: 'freshkey:error',
} as const satisfies Record<string, keyof FreshkeyEvents>

const published = {
  hit: channel(channels.hit),
  miss: channel(channels.miss),
  stale: channel(channels.stale),
  load: channel(channels.load),
  invalidate: channel(channels.invalidate),
  error: channel(channels.error),
}

/** Publishes an event only when someone listens (no allocation otherwise). */
export function emit<K extends keyof typeof published>(
  name: K,
  payload: () => FreshkeyEvents[(typeof channels)[K]],
): void {
  const ch = published[name]
  if (ch.hasSubscribers) ch.publish(payload())
}

export function newStats(): FreshkeyStats {
  return {
    hits: 0,
    misses: 0,
    staleServed: 0,
    loads: 0,
    loadErrors: 0,
    invalidations: 0,
    bypasses: 0,
    storeErrors: 0,
    adapterErrors: 0,
    nearHits: 0,
    fills: 0,
    fillsRefused: 0,
  }
}
