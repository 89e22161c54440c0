import { createFreshkey, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'

export interface Setup {
  fk: Freshkey
  /** Makes every token read fail as if the store were down. */
  storeDown(down: boolean): void
  close(): Promise<void>
}

/** A freshkey on `memoryStore()` or on the test Redis, whose token reads can be made to fail. */
export function setup(kind: 'memory' | 'redis', redisUrl?: string): Setup {
  const store: Store = kind === 'redis' ? redisStore(redisUrl!) : memoryStore()
  let down = false
  const tokens = store.tokens.bind(store)
  store.tokens = (keys, ttl) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : tokens(keys, ttl))
  const fk = createFreshkey({ store, namespace: `http-${process.pid}-${Math.random()}`, version: '1' })
  return {
    fk,
    storeDown: (value) => {
      down = value
    },
    close: async () => {
      await fk.close()
      await store.close()
    },
  }
}
