import type { Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { storeSuite } from '@freshkey/test-suite'
import { Redis } from 'ioredis'
import { Redis as Redis6 } from 'ioredis6'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from './support/services.ts'

const url = serviceUrl('REDIS_URL')

describe.skipIf(!url)('redis standalone', () => {
  it('the server under the suites answers and grants what freshkey needs', async () => {
    const store = redisStore(url!)
    const failed = (await store.verify!()).filter((c) => !c.ok && c.severity === 'error')
    await store.close()
    expect(failed).toEqual([])
  })

  storeSuite('redisStore(url), ioredis 5', { make: () => redisStore(url!), shared: true })

  // Clients the app made: the store leaves them open, the suite closes them.
  const given = new Map<Store, { disconnect(): void }>()
  const cleanup = async (stores: readonly Store[]) => {
    for (const s of stores) {
      await s.close()
      given.get(s)?.disconnect()
    }
  }
  storeSuite('redisStore(client), ioredis 5', {
    make: () => {
      const client = new Redis(url!)
      const store = redisStore(client)
      given.set(store, client)
      return store
    },
    shared: true,
    cleanup,
  })
  storeSuite('redisStore(client), ioredis 6 (RESP3)', {
    make: () => {
      const client = new Redis6(url!)
      const store = redisStore(client)
      given.set(store, client)
      return store
    },
    shared: true,
    cleanup,
  })
})
