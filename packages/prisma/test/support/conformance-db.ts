import { randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import { PrismaPg } from '@prisma/adapter-pg'
import type { FreshkeyPrismaMetadata } from '../../src/index.ts'
import { conformanceDdl } from '../fixtures/ddl.ts'
import type { PrismaClient } from '../generated/conformance-sqlite/client.ts'
import { libsqlAdapter } from './clients.ts'
import { generated, generateTestClients } from './generate-clients.ts'
import { pgConnect } from './pg-client.ts'

await generateTestClients()

/** A Prisma client of the conformance schema on a database that has its tables. */
export interface ConformanceDatabase {
  readonly base: PrismaClient
  readonly metadata: FreshkeyPrismaMetadata
  /** Disconnects and drops the database. */
  close(): Promise<void>
}

/** SQLite: a new file; PostgreSQL: the (empty) database at `databaseUrl`. */
export async function openConformanceDatabase(
  db: 'sqlite' | 'postgres',
  databaseUrl?: string,
): Promise<ConformanceDatabase> {
  if (db === 'sqlite') {
    const { PrismaClient } = await import(generated('conformance-sqlite/client.ts'))
    const { metadata } = await import(generated('conformance-sqlite/freshkey/index.js'))
    const file = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fk-prisma-conf-${randomUUID()}.db`)
    const setup = createClient({ url: `file:${file}` })
    await setup.executeMultiple(conformanceDdl.map((s) => `${s};`).join('\n'))
    setup.close()
    const base = new PrismaClient({ adapter: libsqlAdapter(`file:${file}`) as never })
    return {
      base,
      metadata,
      async close() {
        await base.$disconnect()
        for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
      },
    }
  }
  if (!databaseUrl) throw new Error('the prisma conformance driver needs a databaseUrl for postgres')
  const { PrismaClient } = await import(generated('conformance-postgresql/client.ts'))
  const { metadata } = await import(generated('conformance-postgresql/freshkey/index.js'))
  const setup = await pgConnect(databaseUrl)
  try {
    for (const statement of conformanceDdl) await setup.query(statement)
  } finally {
    await setup.end()
  }
  const base = new PrismaClient({
    adapter: new PrismaPg({ connectionString: databaseUrl }),
  }) as unknown as PrismaClient
  return {
    base,
    metadata,
    async close() {
      await base.$disconnect()
      const url = new URL(databaseUrl)
      const name = url.pathname.slice(1)
      url.pathname = '/postgres'
      const admin = await pgConnect(url.href)
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`)
      } finally {
        await admin.end()
      }
    },
  }
}
