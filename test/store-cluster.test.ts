import type { Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { storeSuite } from '@freshkey/test-suite'
import { Cluster } from 'ioredis'
import { Cluster as Cluster6 } from 'ioredis6'
import { describe, expect, it } from 'vitest'
import { clusterNodes, clusterStoreFactory } from './support/services.ts'

// The run's 3-master 3-replica Cluster (started by the global setup or .ci/run).
const nodes = clusterNodes()
const factory = clusterStoreFactory()
const startup = (nodes ?? []).map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }))

describe.skipIf(!factory)('redis cluster', () => {
  it('the server under the suites answers and grants what freshkey needs', async () => {
    const store = factory!()
    await (store as { ready?(ms: number): Promise<void> }).ready?.(10_000)
    const failed = (await store.verify!()).filter((c) => !c.ok && c.severity === 'error')
    await store.close()
    expect(failed).toEqual([])
  })

  storeSuite('redisStore({ cluster }), ioredis 5', { make: factory!, shared: true })

  const given = new Map<Store, { disconnect(): void }>()
  storeSuite('redisStore(cluster client), ioredis 6 (RESP3)', {
    make: () => {
      const client = new Cluster6(startup)
      client.on('error', () => {})
      const store = redisStore(client)
      given.set(store, client)
      return store
    },
    shared: true,
    async cleanup(stores) {
      for (const s of stores) {
        await s.close()
        given.get(s)?.disconnect()
      }
    },
  })
  void Cluster
})
