import { createFreshkey, dep, StoreUnavailableError } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'

// Regression: at maxmemory with noeviction Redis refuses writes but still answers reads. The
// writer's bump failed while its database write returned OK, and every other instance went on
// serving the value cached before the write. Now a refused bump rejects, the core deletes the
// token keys instead (UNLINK is allowed at the limit), and the others miss (a missing token must
// be created, which the full server refuses: they fall back to the loader).
const enabled = Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('maxmemory + noeviction', () => {
  let server: Awaited<ReturnType<typeof startRedis>>
  beforeAll(async () => {
    server = await startRedis(undefined, { args: ['--maxmemory-policy', 'noeviction'] })
  })
  afterAll(() => server.stop())

  it('a refused bump hurts no one: other instances never serve the old value', async () => {
    const namespace = `oom-${process.pid}`
    const admin = new Redis(server.url)
    const writerStore = redisStore(server.url)
    const readerStore = redisStore(server.url)
    const writer = createFreshkey({ store: writerStore, namespace, logger: false, bumpAttempts: 2 })
    const reader = createFreshkey({ store: readerStore, namespace, logger: false })
    try {
      await readerStore.ready()
      await writerStore.ready()
      let truth = 1
      const load = async () => truth
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      // 2 MB of other data, then a limit below what is in use: every write that grows memory is refused.
      const filler = 'x'.repeat(64 * 1024)
      for (let i = 0; i < 32; i++) await admin.set(`filler:${i}`, filler)
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
      await admin.config('SET', 'maxmemory', String(used - 512 * 1024))
      await expect(admin.set('probe', '1')).rejects.toThrow(/OOM/)
      await expect(
        writerStore.bump({ keys: [`{${namespace}:t:posts}:r:1`], ttl: 60 }),
      ).rejects.toBeInstanceOf(StoreUnavailableError)
      truth = 2
      await writer.changed({ table: 'posts', kind: 'update', pk: 1 }) // never fails the write
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      expect(await writer.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      expect(writer.stats().storeErrors).toBeGreaterThan(0)
      // Memory back: caching resumes.
      await admin.config('SET', 'maxmemory', '0')
      truth = 3
      await writer.changed({ table: 'posts', kind: 'update', pk: 1 })
      // No lease was left behind by a load that could not be stored at the limit.
      const started = Date.now()
      expect(await reader.wrap(['post', dep.row('posts', 1)], load)).toBe(3)
      expect(Date.now() - started).toBeLessThan(1000)
    } finally {
      await writer.close()
      await reader.close()
      await writerStore.close()
      await readerStore.close()
      admin.disconnect()
    }
  })
})
