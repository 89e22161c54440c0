import { createFreshkey, dep } from '@freshkey/core'
import { keySlot, redisStore } from '@freshkey/redis'
import { Cluster } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { clusterNodes } from '../support/services.ts'

// Regression: every key of a namespace carried the hash tag `{namespace}`, so a whole app sat in
// one slot of one master of the Cluster. Layout 2 tags each table's tokens, each tag and each
// value on its own, and the store splits every call by slot.
const nodes = clusterNodes()

describe.skipIf(!nodes)('a namespace on Redis Cluster', () => {
  it('spreads its keys over every master', async () => {
    const namespace = `spread-${process.pid}-${Date.now()}`
    const store = redisStore({ cluster: nodes! })
    const fk = createFreshkey({ store, namespace, logger: false })
    const admin = new Cluster(nodes!.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })))
    try {
      await store.ready(10_000)
      const tables = Array.from({ length: 24 }, (_, i) => `table_${i}`)
      for (const t of tables) {
        await fk.keyFor(dep.row(t, 1), dep.table(t))
        await fk.wrap([`list:${t}`, dep.table(t)], async () => [t])
        await fk.changed({ table: t, kind: 'update', pk: 1 })
      }
      const slots = new Set<number>()
      const perMaster: number[] = []
      for (const node of admin.nodes('master')) {
        let cursor = '0'
        let n = 0
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `fk:{${namespace}:*`, 'COUNT', 1000)
          cursor = next
          n += keys.length
          for (const k of keys) slots.add(keySlot(k))
        } while (cursor !== '0')
        perMaster.push(n)
      }
      const total = perMaster.reduce((a, b) => a + b, 0)
      expect(perMaster).toHaveLength(3)
      for (const n of perMaster) {
        expect(n).toBeGreaterThan(0)
        expect(n / total).toBeLessThan(0.6)
      }
      expect(slots.size).toBeGreaterThan(40)
    } finally {
      await fk.close()
      await store.close()
      admin.disconnect()
    }
  })

  it('the slot of every key is its hash tag’s, as Redis computes it', async () => {
    const admin = new Cluster(nodes!.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })))
    try {
      for (const key of ['fk:{a:t:users}:r:1', 'plain-key', 'fk:{ns:@1:ü}:v', 'x{}y', '{}{a}', 'fk:{a'])
        expect(keySlot(key)).toBe(Number(await admin.cluster('KEYSLOT', key)))
    } finally {
      admin.disconnect()
    }
  })
})

describe.skipIf(!nodes)('a Cluster client with auto-pipelining', () => {
  it('runs concurrent scripts on different slots (ioredis would route them by their key count)', async () => {
    const client = new Cluster(
      nodes!.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })),
      { enableAutoPipelining: true },
    )
    const store = redisStore(client)
    const namespace = `autopipe-${process.pid}-${Date.now()}`
    const fk = createFreshkey({ store, namespace, logger: false })
    try {
      await store.ready(10_000)
      const values = await Promise.all(
        Array.from({ length: 20 }, (_, i) => fk.wrap([`row:${i}`, dep.row(`table_${i}`, i)], async () => i)),
      )
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(fk.stats().fills).toBe(20)
      expect(fk.stats().storeErrors).toBe(0)
    } finally {
      await fk.close()
      await store.close()
      client.disconnect()
    }
  })
})
