import { ConfigError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Cluster, Redis } from 'ioredis'
import { Cluster as Cluster6 } from 'ioredis6'
import { describe, expect, it } from 'vitest'

// Regression: a Cluster client with scaleReads: 'slave' sent the token MGETs to replicas, which
// lag their masters: a read after a bump could see the old token and serve the old value.
// Token reads and compare-and-set now only ever reach masters: other settings are refused.
// (No server is needed: the check happens before anything is sent.)
const lazy = { lazyConnect: true, enableOfflineQueue: false }

describe('clients that would read tokens from replicas are refused', () => {
  it.each(['slave', 'all', () => []] as const)('a given Cluster client with scaleReads %s', (scaleReads) => {
    for (const Make of [Cluster, Cluster6]) {
      const client = new Make([{ host: '127.0.0.1', port: 1 }], { scaleReads: scaleReads as never, ...lazy })
      try {
        expect(() => redisStore(client)).toThrow(ConfigError)
        expect(() => redisStore(client)).toThrow(/scaleReads: 'master'/)
      } finally {
        client.disconnect()
      }
    }
  })

  it('a Cluster the store would create with scaleReads slave', () => {
    expect(() => redisStore({ cluster: ['127.0.0.1:1'], options: { scaleReads: 'slave', ...lazy } })).toThrow(
      ConfigError,
    )
  })

  it('a Sentinel client of the replicas (role: slave), in options or given', () => {
    const options = {
      sentinels: [{ host: '127.0.0.1', port: 1 }],
      name: 'x',
      role: 'slave' as const,
      ...lazy,
    }
    expect(() => redisStore(options)).toThrow(ConfigError)
    const client = new Redis(options)
    try {
      expect(() => redisStore(client)).toThrow(/master/)
    } finally {
      client.disconnect()
    }
  })

  it('scaleReads master (the default) is accepted', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: 1 }], lazy)
    const store = redisStore(client)
    await store.close()
    client.disconnect()
  })
})
