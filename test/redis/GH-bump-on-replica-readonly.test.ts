import { StoreUnavailableError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'

// A store that reaches a replica (a URL of the wrong server, or a master demoted under a plain
// client) must neither bump (READONLY: reject, so the core deletes or owes instead of believing
// it bumped) nor read tokens there (a replica lags: its tokens can be older than the last bump).
const enabled = Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('a store connected to a replica', () => {
  let master: RedisServer
  let replica: RedisServer
  beforeAll(async () => {
    master = await startRedis()
    replica = await startRedis(undefined, { args: ['--replicaof', '127.0.0.1', String(master.port)] })
  })
  afterAll(async () => {
    await replica.stop()
    await master.stop()
  })

  it('rejects bumps (READONLY) and token reads, and verify() names the role', async () => {
    const store = redisStore(replica.url)
    try {
      expect(await store.ready(2000)).toBe('') // never trusted
      await expect(store.bump({ keys: ['{r:t:a}:t'], ttl: 60 })).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(store.bump({ keys: ['{r:t:a}:t'], ttl: 60 })).rejects.toThrow(/READONLY/)
      await expect(store.tokens(['{r:t:a}:t'], 60)).rejects.toThrow(/replica/)
      await expect(store.read({ entry: '{r:@0:e}:v', keys: [], ttl: 60 })).rejects.toThrow(/replica/)
      const role = (await store.verify()).find((c) => c.name === 'role')
      expect(role).toMatchObject({ ok: false, severity: 'error' })
    } finally {
      await store.close()
    }
  })
})
