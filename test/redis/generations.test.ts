import { setTimeout as sleep } from 'node:timers/promises'
import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'

// DESIGN rule 9: a token read from a server is trusted only while that server still remembers it.
// The store learns each connection's server run_id; while it does not know it, it reports ''.
const url = serviceUrl('REDIS_URL')
const local = Boolean(url) && Boolean(which('redis-server'))

describe.skipIf(!url)('generations', () => {
  it("is '' until the connection's server is known, then its run id, stable", async () => {
    const client = new Redis(url!, { lazyConnect: true })
    const store = redisStore(client)
    try {
      expect(store.generation()).toBe('')
      await client.connect()
      const g = await store.ready()
      expect(g).toMatch(/^[0-9a-f]{16}$/)
      const runId = /run_id:([0-9a-f]+)/.exec(await client.info('server'))![1]!
      expect(runId.startsWith(g)).toBe(true)
      expect((await store.tokens(['{g:t:a}:t'], 60)).generation).toBe(g)
      expect((await store.read({ entry: '{g:@0:e}:v', keys: [], ttl: 60 })).generation).toBe(g)
      expect((await store.bump({ keys: ['{g:t:a}:t'], ttl: 60 })).generation).toBe(g)
    } finally {
      await store.close()
      client.disconnect()
    }
  })

  it("nothing is read or stored under '': no lease, and a write is refused", async () => {
    const client = new Redis(url!, { lazyConnect: true })
    const store = redisStore(client)
    const fk = createFreshkey({ store, namespace: `gen-unknown-${process.pid}`, logger: false })
    try {
      let loads = 0
      const load = async () => ++loads
      // The first call connects the lazy client and races the run_id lookup: read under '', never stored.
      await fk.wrap(['x', dep.row('t', 1)], load)
      await store.ready()
      const r = await store.read({
        entry: '{g2:@0:e}:v',
        keys: ['{g2:t:a}:t'],
        ttl: 60,
        lease: '{g2:@0:e}:l',
        leaseMs: 1000,
      })
      expect(r.lease).toBeTruthy()
      await store.release('{g2:@0:e}:l', r.lease!)
      expect(
        await store.write({
          entry: '{g2:@0:e}:v',
          expect: { keys: ['{g2:t:a}:t'], tokens: [r.current.get('{g2:t:a}:t')!] },
          keys: ['{g2:t:a}:t'],
          fences: [],
          generation: '',
          freshUntil: Date.now() + 1000,
          payload: 'p',
          ttlMs: 1000,
          tokenTtl: 60,
        }),
      ).toBe(false)
    } finally {
      await fk.close()
      await store.close()
      client.disconnect()
    }
  })

  it('a reconnect to the same server keeps the generation: cached values still hit', async () => {
    const store = redisStore(url!)
    const admin = new Redis(url!)
    const fk = createFreshkey({ store, namespace: `gen-reconnect-${process.pid}`, logger: false })
    try {
      const g = await store.ready()
      let loads = 0
      const load = async () => ++loads
      await fk.wrap(['x', dep.row('t', 1)], load)
      const client = store.client as unknown as Redis
      const id = await client.client('ID')
      await admin.client('KILL', 'ID', String(id))
      await new Promise((r) => setTimeout(r, 50))
      expect(await store.ready()).toBe(g)
      expect(await fk.wrap(['x', dep.row('t', 1)], load)).toBe(1)
      expect(loads).toBe(1)
    } finally {
      await fk.close()
      await store.close()
      admin.disconnect()
    }
  })

  it.skipIf(!local)('a write is refused when the server changed between the read and the write', async () => {
    const server = await startRedis()
    const store = redisStore(server.url)
    try {
      await store.ready()
      const r = await store.read({ entry: '{g3:@0:e}:v', keys: ['{g3:t:a}:t'], ttl: 60 })
      await server.stop()
      await server.start()
      // start() pings the new server synchronously: the client may not have seen the old
      // connection close yet. Wait until the store has learnt who it talks to now.
      let g2 = await store.ready(10_000)
      for (const until = Date.now() + 10_000; g2 === r.generation && Date.now() < until; ) {
        await sleep(20)
        g2 = await store.ready(10_000)
      }
      expect(g2).not.toBe(r.generation)
      const ok = await store.write({
        entry: '{g3:@0:e}:v',
        expect: { keys: ['{g3:t:a}:t'], tokens: [r.current.get('{g3:t:a}:t')!] },
        keys: ['{g3:t:a}:t'],
        fences: [],
        generation: r.generation,
        freshUntil: Date.now() + 1000,
        payload: 'p',
        ttlMs: 1000,
        tokenTtl: 60,
      })
      expect(ok).toBe(false)
    } finally {
      await store.close()
      await server.stop()
    }
  })
})
