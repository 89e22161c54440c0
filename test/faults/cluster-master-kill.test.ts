import { describe, expect, it } from 'vitest'
import { startCluster, which } from '../setup/servers.ts'
import { clusterNodes, serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'

// Fault: a Cluster master is killed mid-run; its replica (which may lag) is promoted after the
// node timeout. Runs on a Cluster of its own (3 masters, 3 replicas).
const databaseUrl = serviceUrl('DATABASE_URL')
const enabled = Boolean(databaseUrl) && Boolean(clusterNodes()) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('fault: Cluster master killed', () => {
  it('two processes: 0 stale reads after recovery, 0 failed writes', async () => {
    const cluster = await startCluster({ nodeTimeout: 1000 })
    try {
      let victim = 0
      const report = await runScenario({
        name: 'cluster-master-kill',
        databaseUrl: databaseUrl!,
        target: { cluster: [...cluster.nodes] },
        tables: 6,
        durationMs: 10_000,
        async fault() {
          victim = cluster.masters()[0]!
          await cluster.kill(victim)
          await cluster.settle(20_000)
        },
      })
      expect(victim).toBeGreaterThan(0)
      expect(report.staleReads).toBe(0)
      expect(report.failedWrites).toBe(0)
      expect(report.recoveryMs).toBeDefined()
      expect(report.reader?.generationChanged).toBe(1)
    } finally {
      await cluster.stop()
    }
  }, 120_000)
})
