import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'

// Regression: Redis restarted with its data from before a bump (an RDB snapshot, an AOF that
// lost its last second) brought the old token back, and with it every value cached under it:
// served as fresh forever. Generations: a token is trusted only under the run_id of the server
// it was read from, and a restart changes the run_id, so everything cached before is a miss.
const enabled = Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('Redis restarted from an RDB taken before a bump', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fk-rdb-'))
  let server: Awaited<ReturnType<typeof startRedis>>
  beforeAll(async () => {
    server = await startRedis(undefined, { dir, args: ['--save', '', '--appendonly', 'no'] })
  })
  afterAll(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves no value cached before the restart, and the generation moved', async () => {
    const namespace = `rdb-${process.pid}`
    const writerStore = redisStore(server.url)
    const readerStore = redisStore(server.url)
    const writer = createFreshkey({ store: writerStore, namespace, logger: false })
    const reader = createFreshkey({ store: readerStore, namespace, logger: false })
    const admin = new Redis(server.url)
    try {
      const before = await readerStore.ready()
      let truth = 1
      const load = async () => truth
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      await admin.save() // the snapshot holds the token and the value cached under it
      truth = 2
      await writer.changed({ table: 'posts', kind: 'update', pk: 1 })
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      admin.disconnect()
      await server.stop() // the bump is lost: it happened after the snapshot
      await server.start()
      // The first read after the restart goes out on the old connection or the new one; either
      // way it must not serve the restored value (a reply that crossed a reconnect counts as '').
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      const after = await readerStore.ready(10_000)
      expect(after).not.toBe('')
      expect(after).not.toBe(before)
      // The restored token is the pre-bump one, and so is the restored entry: not trusted.
      const raw = new Redis(server.url)
      const tokenKey = `fk:{${namespace}:t:posts}:r:1`
      expect(await raw.exists(tokenKey)).toBe(1)
      raw.disconnect()
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      expect(await writer.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
    } finally {
      await writer.close()
      await reader.close()
      await writerStore.close()
      await readerStore.close()
    }
  })
})

describe.skipIf(!enabled)('a lease restored from an RDB', () => {
  it('is taken over at once: its holder released it in a timeline the server forgot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-rdb-lease-'))
    const server = await startRedis(undefined, { dir, args: ['--save', '', '--appendonly', 'no'] })
    const store = redisStore(server.url)
    try {
      await store.ready()
      const ask = { entry: '{l:@0:e}:v', keys: ['{l:t:a}:t'], ttl: 60, lease: '{l:@0:e}:l', leaseMs: 60_000 }
      const first = await store.read(ask)
      expect(first.lease).toBeTruthy()
      const admin = new Redis(server.url)
      await admin.save()
      admin.disconnect()
      await store.release(ask.lease, first.lease!)
      await server.stop()
      await server.start()
      await store.tokens(['{l:t:a}:t'], 60).catch(() => {})
      await store.ready(10_000)
      const raw = new Redis(server.url)
      expect(await raw.get(`fk:${ask.lease}`)).toBe(first.lease) // restored, held by nobody alive
      raw.disconnect()
      const again = await store.read(ask)
      expect(again.lease).toBeTruthy()
      expect(again.lease).not.toBe(first.lease)
    } finally {
      await store.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
