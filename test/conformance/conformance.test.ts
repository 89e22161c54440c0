import { readdirSync } from 'node:fs'
import { memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { adapterSuite, type ConformanceDriver } from '@freshkey/test-suite'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from '../support/services.ts'

// The adapter conformance suite (@freshkey/test-suite) on every adapter's driver in ./drivers.
// FK_CONFORMANCE_DRIVERS=mikro-orm loads only those drivers (a compat run of one ORM's old major).
const only = process.env.FK_CONFORMANCE_DRIVERS?.split(',')
const driverFiles = readdirSync(new URL('./drivers/', import.meta.url)).filter(
  (f) => f.endsWith('.ts') && (!only || only.includes(f.slice(0, -3))),
)
const drivers: ConformanceDriver[] = []
for (const file of driverFiles) {
  const mod = (await import(`./drivers/${file}`)) as Record<string, unknown>
  for (const value of Object.values(mod)) {
    if (value && typeof value === 'object' && 'open' in value && 'name' in value)
      drivers.push(value as ConformanceDriver)
  }
}

const redisUrl = serviceUrl('REDIS_URL')
const databaseUrl = serviceUrl('DATABASE_URL')
const stores: [string, () => Store][] = [['memory', () => memoryStore()]]
if (redisUrl) stores.push(['redis', () => redisStore(redisUrl)])

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`)
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(databaseUrl!)
  url.pathname = `/${name}`
  return url.toString()
}

adapterSuite(drivers, { stores, ...(databaseUrl && { postgres: freshDatabase }) })

describe('conformance drivers', () => {
  it('are present for the adapters in this repository', () => {
    const adapters = readdirSync(new URL('../../packages/', import.meta.url)).filter((p) =>
      ['typeorm', 'mikro-orm', 'prisma'].includes(p),
    )
    expect(drivers.map((d) => d.name).sort()).toEqual([...(only ?? adapters)].sort())
  })
})
