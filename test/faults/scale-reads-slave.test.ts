import { describe, expect, it } from 'vitest'
import { clusterNodes, serviceUrl } from '../support/services.ts'
import { runScenario } from './harness.ts'

// Fault: the app hands freshkey a Cluster client with scaleReads: 'slave'. The old store sent the
// token MGETs to replicas, which lag: a read right after a bump could see the old token. Now both
// processes get a ConfigError at startup (and, as the app would after reading it, run with the
// default client): 0 stale reads.
const databaseUrl = serviceUrl('DATABASE_URL')
const nodes = clusterNodes()

describe.skipIf(!databaseUrl || !nodes)('fault: Cluster client with scaleReads slave', () => {
  it('is refused at startup in both processes; with master reads, 0 stale reads', async () => {
    const report = await runScenario({
      name: 'scale-reads-slave',
      databaseUrl: databaseUrl!,
      target: { cluster: nodes! },
      clientOptions: { scaleReads: 'slave' },
      tables: 6,
      durationMs: 3000,
    })
    expect(report.configErrors).toHaveLength(2)
    for (const e of report.configErrors) expect(e).toMatch(/ConfigError: .*scaleReads: 'master'/)
    expect(report.staleReads).toBe(0)
    expect(report.failedWrites).toBe(0)
    expect(report.hits).toBeGreaterThan(0)
  }, 60_000)
})
