import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, type SentinelSet, startSentinels, which } from '../setup/servers.ts'
import { serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'
import { type LagProxy, lagProxy } from './lag-proxy.ts'

// Fault: SENTINEL FAILOVER promotes a replica that lags its master (held back by a proxy), so the
// bumps and values of the last second are lost, while the old master keeps answering until
// Sentinel demotes it. Generations make everything cached before the switch a miss; durable bumps
// (replicas: 1, acknowledged by the other replica) fail instead of vanishing when a process is
// still on the old master.
const databaseUrl = serviceUrl('DATABASE_URL')
const enabled = Boolean(databaseUrl) && Boolean(serviceUrl('REDIS_URL')) && Boolean(which('redis-server'))

describe.skipIf(!enabled)('fault: Sentinel failover to a lagging replica', () => {
  it('two processes, durable bumps: 0 stale reads, 0 failed writes', async () => {
    let proxy: LagProxy | undefined
    const set: SentinelSet = await startSentinels({
      replicas: 2,
      sentinels: 1,
      // Replica 0 replicates through the proxy (it will lag); replica 1 is never promoted.
      upstream: async (i, masterPort) => {
        if (i !== 0) return masterPort
        proxy = await lagProxy(masterPort)
        return proxy.port
      },
      replicaArgs: (i) => (i === 1 ? ['--replica-priority', '0'] : []),
    })
    const lagging = set.replicas[0]!.port
    try {
      const report = await runScenario({
        name: 'sentinel-failover-lagging-replica',
        databaseUrl: databaseUrl!,
        target: { sentinels: [...set.sentinels], name: set.name },
        replicas: 1,
        durationMs: 10_000,
        async fault() {
          proxy!.hold()
          await new Promise((r) => setTimeout(r, 1000)) // acknowledged bumps the promoted replica will not have
          // Sentinel may refuse (INPROG) or abort (no good replica while its view is stale): ask again.
          const deadline = Date.now() + 25_000
          let asked = 0
          while (set.masterPort() !== lagging && Date.now() < deadline) {
            if (Date.now() - asked > 1500) {
              cli(set.sentinels[0]!.port, 'sentinel', 'failover', set.name)
              asked = Date.now()
            }
            await new Promise((r) => setTimeout(r, 50))
          }
          if (set.masterPort() !== lagging)
            console.log(
              execFileSync('tail', [
                '-n',
                '30',
                join(set.dir, `sentinel-${set.sentinels[0]!.port}.log`),
              ]).toString(),
            )
          expect(set.masterPort()).toBe(lagging)
        },
      })
      expect(report.staleReads).toBe(0)
      expect(report.failedWrites).toBe(0)
      expect(report.recoveryMs).toBeDefined()
    } finally {
      await proxy?.close()
      await set.stop()
    }
  }, 90_000)
})
