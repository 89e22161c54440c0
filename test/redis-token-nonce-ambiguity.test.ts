import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { BUMP, TOKENS } from '../packages/redis/src/scripts.ts'
import { serviceUrl } from './support/services.ts'

// Regression: fresh tokens were `nonce .. index`, so nonce "45a" with index 21 and nonce "45a2"
// with index 1 gave the same token; a bump could then leave a token unchanged and let a
// compare-and-set accept a stale value. Tokens are now `nonce .. ':' .. index`.
const redisUrl = serviceUrl('REDIS_URL')

describe('redis token nonces', () => {
  it('tokens made from nonces that prefix each other never collide', async () => {
    // No skip: the test command starts a throwaway Redis, so a missing one is a failure.
    if (!redisUrl) throw new Error('REDIS_URL is not set: start Redis (bash scripts/dev.sh test does)')
    const client = new Redis(redisUrl)
    const store = redisStore(client)
    try {
      const base = `nonce-${process.pid}-${Date.now()}`
      const many = Array.from({ length: 21 }, (_, i) => `fk:{${base}:t:a}:r:${i}`)
      const first = (await client.eval(TOKENS, many.length, ...many, 60, '45a')) as string[]
      await client.eval(BUMP, 1, `fk:{${base}:t:b}:t`, 60, '45a2', '', 1, 0, 0, 0, '')
      const [bumped] = (await store.tokens([`{${base}:t:b}:t`], 60)).tokens
      expect(first).not.toContain(bumped)
      expect(new Set([...first, bumped]).size).toBe(22)
    } finally {
      await store.close()
      client.disconnect()
    }
  })
})
