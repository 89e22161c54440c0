import { keySlot, redisStore } from '@freshkey/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisClusterServer, startCluster, which } from '../setup/servers.ts'
import { clusterNodes } from '../support/services.ts'

// Sharded pub/sub follows the topology: when the master that owns the bump channel's slot dies,
// the subscriber hears onState(false), and onState(true) once it subscribed on the promoted
// replica; messages flow again. This test kills a master, so it runs on a Cluster of its own.
const enabled = Boolean(clusterNodes()) && Boolean(which('redis-server'))

const until = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 20))
  }
  return true
}

describe.skipIf(!enabled)('Cluster pub/sub when the subscriber’s master dies', () => {
  let cluster: RedisClusterServer
  beforeAll(async () => {
    cluster = await startCluster({ nodeTimeout: 1000 })
  }, 60_000)
  afterAll(() => cluster?.stop())

  it('reports the subscription down, then live again on the new master, and delivers', async () => {
    const store = redisStore({ cluster: cluster.nodes as string[] })
    const publisher = redisStore({ cluster: cluster.nodes as string[] })
    try {
      const before = await store.ready(10_000)
      await publisher.ready(10_000)
      const channel = '{killsub:meta}:bumps'
      const states: boolean[] = []
      const got: string[] = []
      const off = await store.subscribe(
        channel,
        (m) => got.push(m),
        (live) => states.push(live),
      )
      expect(await until(() => states.at(-1) === true, 5000)).toBe(true)
      await publisher.publish(channel, 'before')
      expect(await until(() => got.includes('before'), 5000)).toBe(true)
      const owner = cluster.masterOf(keySlot(`fk:${channel}`))!
      const killedAt = Date.now()
      await cluster.kill(owner)
      expect(await until(() => states.includes(false), 5000)).toBe(true)
      const down = Date.now() - killedAt
      expect(await until(() => states.at(-1) === true, 20_000)).toBe(true)
      const recovered = Date.now() - killedAt
      // The publisher learns the new owner on its own; retry until its SPUBLISH lands there.
      const delivered = await until(() => {
        publisher.publish(channel, 'after').catch(() => {})
        return got.includes('after')
      }, 10_000)
      expect(delivered).toBe(true)
      expect(store.generation()).not.toBe(before)
      console.log(
        `subscriber master killed: down reported after ${down} ms, live again after ${recovered} ms`,
      )
      await off()
    } finally {
      await store.close()
      await publisher.close()
    }
  }, 60_000)
})
