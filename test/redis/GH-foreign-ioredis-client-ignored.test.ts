import { ConfigError } from '@freshkey/core'
import { RedisStore, redisStore } from '@freshkey/redis'
import { Redis as Redis5 } from 'ioredis'
import { Redis as Redis6 } from 'ioredis6'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from '../support/services.ts'

// Regression: redisStore(client) tested `instanceof Redis` against its own copy of ioredis. An app
// on ioredis 6 (or another copy of 5) failed the test, its client was taken as *options*, and the
// store silently opened a new connection to localhost:6379 — another server, or none.
const url = serviceUrl('REDIS_URL')

const clients = async (admin: Redis5) =>
  Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1])

describe.skipIf(!url)('a client from another copy of ioredis', () => {
  it('is used as given: no new connection, commands go through it', async () => {
    const admin = new Redis5(url!)
    const app = new Redis6(url!)
    await app.ping()
    const before = await clients(admin)
    const sent: string[] = []
    const original = app.sendCommand.bind(app)
    app.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name)
      return (original as (...a: unknown[]) => unknown)(command, ...rest)
    }) as typeof app.sendCommand
    const store = redisStore(app)
    try {
      expect(store).toBeInstanceOf(RedisStore)
      expect(store.client).toBe(app)
      await store.ready()
      await store.tokens(['{foreign:t:a}:t'], 60)
      expect(sent).toContain('mget')
      expect(await clients(admin)).toBe(before)
    } finally {
      await store.close()
      app.disconnect()
      admin.disconnect()
    }
  })

  it('anything that is neither an ioredis client nor plain options is refused, never taken for options', () => {
    class OtherClient {
      sendCommand() {}
      on() {}
    }
    expect(() => redisStore(new OtherClient() as never)).toThrow(ConfigError)
    expect(() => redisStore(42 as never)).toThrow(ConfigError)
    expect(() => redisStore(null as never)).toThrow(ConfigError)
  })
})
