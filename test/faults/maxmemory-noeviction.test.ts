import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'

// Fault: the server reaches maxmemory with noeviction for two seconds: writes (bumps, fills) are
// refused while reads are still answered.
const databaseUrl = serviceUrl('DATABASE_URL')
const enabled = Boolean(databaseUrl) && Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('fault: maxmemory with noeviction', () => {
  it('two processes: 0 stale reads, 0 failed writes', async () => {
    const server = await startRedis(undefined, { args: ['--maxmemory-policy', 'noeviction'] })
    const admin = new Redis(server.url)
    try {
      const filler = 'x'.repeat(64 * 1024)
      for (let i = 0; i < 32; i++) await admin.set(`filler:${i}`, filler)
      const report = await runScenario({
        name: 'maxmemory-noeviction',
        databaseUrl: databaseUrl!,
        target: { url: server.url },
        durationMs: 6000,
        async fault() {
          const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
          await admin.config('SET', 'maxmemory', String(used - 512 * 1024))
          await new Promise((r) => setTimeout(r, 2000))
          await admin.config('SET', 'maxmemory', '0')
        },
      })
      expect(report.staleReads).toBe(0)
      expect(report.failedWrites).toBe(0)
      expect(report.writer?.storeErrors).toBeGreaterThan(0) // the fault did bite
      expect(report.recoveryMs).toBeDefined()
    } finally {
      admin.disconnect()
      await server.stop()
    }
  }, 60_000)
})
