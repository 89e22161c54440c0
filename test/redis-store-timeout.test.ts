import { createServer, type Server, type Socket } from 'node:net'
import { StoreUnavailableError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// A server that accepts connections and never answers: every command hangs until a timeout.
let silent: Server
let port = 0
const sockets = new Set<Socket>()
beforeAll(async () => {
  silent = createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  port = (silent.address() as { port: number }).port
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((r) => silent.close(r))
})

describe('redis store timeouts', () => {
  it("times out calls on a caller's client without commandTimeout (shared watchdog)", async () => {
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, lazyConnect: false })
    client.on('error', () => {})
    const store = redisStore(client, { timeout: 200 })
    try {
      const started = Date.now()
      const results = await Promise.allSettled([
        store.tokens(['{t:a}:t'], 60),
        store.read({ entry: '{v:e}:v', keys: ['{t:a}:t'], ttl: 60 }),
        store.bump({ keys: ['{t:a}:t'], ttl: 60 }),
      ])
      expect(Date.now() - started).toBeLessThan(1000)
      for (const r of results) {
        expect(r.status).toBe('rejected')
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError)
      }
    } finally {
      await store.close()
      client.disconnect()
    }
  })

  it('times out calls on a store it created from a URL (ioredis commandTimeout)', async () => {
    const store = redisStore(`redis://127.0.0.1:${port}`, { timeout: 200 })
    try {
      const started = Date.now()
      await expect(store.tokens(['{t:a}:t'], 60)).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - started).toBeLessThan(2500)
    } finally {
      await store.close()
    }
  })
})
