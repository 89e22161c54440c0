import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'

// Fault: the app's ACL user may use keys but not channels (`~fk:* +@all`; Redis 7 resetchannels).
// The old bump script failed at PUBLISH after its SETs: every commit was a failed bump.
const databaseUrl = serviceUrl('DATABASE_URL')
const url = serviceUrl('REDIS_URL')

describe.skipIf(!databaseUrl || !url)('fault: ACL without channel rights', () => {
  it('two processes: 0 stale reads, 0 failed writes, 0 store errors', async () => {
    const admin = new Redis(url!)
    const user = `fk-fault-acl-${process.pid}`
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', '>pw', 'resetchannels', '~fk:*', '+@all')
    const u = new URL(url!)
    u.username = user
    u.password = 'pw'
    try {
      const report = await runScenario({
        name: 'acl-without-channels',
        databaseUrl: databaseUrl!,
        target: { url: u.toString() },
        durationMs: 3000,
      })
      expect(report.staleReads).toBe(0)
      expect(report.failedWrites).toBe(0)
      expect(report.writer?.storeErrors).toBe(0)
      expect(report.reader?.storeErrors).toBe(0)
      expect(report.hits).toBeGreaterThan(0)
    } finally {
      await admin.call('ACL', 'DELUSER', user)
      admin.disconnect()
    }
  }, 60_000)
})
