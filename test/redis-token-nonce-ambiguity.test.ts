import { redisStore } from '@freshkey/redis'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from './support/services.ts'

// Regression: fresh tokens were `nonce .. index`, so nonce "45a" with index 21 and nonce "45a2"
// with index 1 gave the same token; a bump could then leave a token unchanged and let a
// compare-and-set accept a stale value.
const redisUrl = serviceUrl('REDIS_URL')

describe.skipIf(!redisUrl)('redis token nonces', () => {
  it('tokens made from nonces that prefix each other never collide', async () => {
    const store = redisStore(redisUrl!)
    try {
      const base = `nonce-${process.pid}-${Date.now()}`
      const many = Array.from({ length: 21 }, (_, i) => `fk:${base}:a${i}`)
      const scripts = store.client as unknown as {
        fkTokens(n: number, ...args: (string | number)[]): Promise<string[]>
        fkBump(n: number, ...args: (string | number)[]): Promise<number>
      }
      const first = await scripts.fkTokens(many.length, ...many, 60, '45a')
      await scripts.fkBump(1, `fk:${base}:b`, 60, '45a2', '', 'fk:')
      const [bumped] = await store.tokens([`${base}:b`], 60)
      expect(first).not.toContain(bumped)
      expect(new Set([...first, bumped]).size).toBe(22)
    } finally {
      await store.close()
    }
  })
})
