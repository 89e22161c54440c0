import { ConfigError, StoreUnavailableError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'

// Durable bumps (opt-in): `replicas: n` sends WAIT n after every bump, delete and fence, in the
// same round trip; fewer acknowledgements than n is a failed bump (the core then deletes the
// keys, and owes what it cannot delete), never a silently lost one.
const enabled = Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('durable bumps (replicas: n)', () => {
  let master: RedisServer
  let replica: RedisServer
  beforeAll(async () => {
    master = await startRedis()
    replica = await startRedis(undefined, { args: ['--replicaof', '127.0.0.1', String(master.port)] })
    const admin = new Redis(master.url)
    for (let i = 0; i < 400 && !(await admin.info('replication')).includes('state=online'); i++)
      await new Promise((r) => setTimeout(r, 25))
    admin.disconnect()
  })
  afterAll(async () => {
    await replica.stop()
    await master.stop()
  })

  it('a bump waits for the replica and succeeds when it acknowledges', async () => {
    const store = redisStore(master.url, { replicas: 1 })
    try {
      await store.ready()
      const sent: string[] = []
      const client = store.client as unknown as { sendCommand(c: { name: string }, ...r: unknown[]): unknown }
      const original = client.sendCommand.bind(client)
      client.sendCommand = (c, ...r) => {
        sent.push(c.name)
        return original(c, ...r)
      }
      const r = await store.bump({ keys: ['{d:t:a}:t'], ttl: 60, channel: '{d:meta}:bumps' })
      expect(r.tokens).toHaveLength(1)
      // The bump script publishes the message itself; WAIT follows it in the same pipeline.
      expect(sent).toEqual(['evalsha', 'wait'])
      await store.delete(['{d:t:a}:t'])
      expect((await store.verify()).find((c) => c.name === 'replicas')?.ok).toBe(true)
    } finally {
      await store.close()
    }
  })

  it('without the replica, bumps and deletes reject with StoreUnavailableError', async () => {
    const store = redisStore(master.url, { replicas: 1, replicaTimeout: 100 })
    try {
      await store.ready()
      await replica.stop()
      const admin = new Redis(master.url)
      for (let i = 0; i < 200 && !(await admin.info('replication')).includes('connected_slaves:0'); i++)
        await new Promise((r) => setTimeout(r, 25))
      admin.disconnect()
      await expect(store.bump({ keys: ['{d:t:b}:t'], ttl: 60 })).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(store.bump({ keys: ['{d:t:b}:t'], ttl: 60 })).rejects.toThrow(/reached 0 of 1 replicas/)
      await expect(store.delete(['{d:t:b}:t'])).rejects.toBeInstanceOf(StoreUnavailableError)
      await store.tokens(['{d:t:c}:t'], 60)
      await expect(store.renewPrefixes(['{d:t:'], 60)).rejects.toBeInstanceOf(StoreUnavailableError)
      const check = (await store.verify()).find((c) => c.name === 'replicas')
      expect(check).toMatchObject({ ok: false, severity: 'error' })
      // Without replicas: the same bump succeeds (not durable, by choice).
      const plain = redisStore(master.url)
      await plain.ready()
      expect((await plain.bump({ keys: ['{d:t:b}:t'], ttl: 60 })).tokens).toHaveLength(1)
      await plain.close()
    } finally {
      await store.close()
      await replica.start()
    }
  })

  it('refuses a nonsensical replicas option', () => {
    expect(() => redisStore(master.url, { replicas: -1 })).toThrow(ConfigError)
    expect(() => redisStore(master.url, { replicas: 1.5 })).toThrow(ConfigError)
  })
})
