import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startRedis, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'

// Fault: Redis restarts from an RDB snapshot taken before a burst of bumps (as after a crash with
// `save` snapshots, or an AOF that lost its tail). Old tokens and old values come back together.
const databaseUrl = serviceUrl('DATABASE_URL')
const enabled = Boolean(databaseUrl) && Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('fault: restart from an RDB taken before the bumps', () => {
  it('two processes: 0 stale reads, 0 failed writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-fault-rdb-'))
    const server = await startRedis(undefined, { dir, args: ['--save', '', '--appendonly', 'no'] })
    try {
      const report = await runScenario({
        name: 'restart-from-old-rdb',
        databaseUrl: databaseUrl!,
        target: { url: server.url },
        durationMs: 6000,
        async fault() {
          const admin = new Redis(server.url)
          await admin.save()
          admin.disconnect()
          await new Promise((r) => setTimeout(r, 1000)) // bumps the snapshot will not have
          await server.stop()
          await server.start()
        },
      })
      expect(report.staleReads).toBe(0)
      expect(report.failedWrites).toBe(0)
      expect(report.writes).toBeGreaterThan(100)
      expect(report.recoveryMs).toBeDefined()
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
