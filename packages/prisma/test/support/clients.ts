import { randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@libsql/client'
import * as libsql from '@prisma/adapter-libsql'
import { PrismaPg } from '@prisma/adapter-pg'
import type { FreshkeyPrismaMetadata } from '../../src/index.ts'
import { ddl } from '../fixtures/ddl.ts'
import type { PrismaClient } from '../generated/sqlite/client.ts'
import { generated, generateTestClients } from './generate-clients.ts'
import { pgConnect } from './pg-client.ts'

await generateTestClients()

interface QueryEvents {
  $on(event: 'query', listener: (e: { query: string }) => void): void
}

/** A libSQL driver adapter (`PrismaLibSql` in Prisma 7, `PrismaLibSQL` in Prisma 6). */
export function libsqlAdapter(url: string): unknown {
  const Adapter =
    (libsql as Record<string, new (config: { url: string }) => unknown>).PrismaLibSql ??
    (libsql as Record<string, new (config: { url: string }) => unknown>).PrismaLibSQL!
  return new Adapter({ url })
}

/** A client of the test schema (the SQLite and PostgreSQL clients have the same API). */
export type TestClient = PrismaClient

export type DbKind = 'sqlite' | 'postgres'

/** A fresh database with the test schema and a Prisma client on it. */
export interface TestDatabase {
  readonly kind: DbKind
  /** The Prisma client without freshkey. */
  readonly base: TestClient
  /** Generator output for this client. */
  readonly metadata: FreshkeyPrismaMetadata
  /** Runs SQL outside Prisma (setup, or writes freshkey must not see). */
  sql(text: string, values?: unknown[]): Promise<void>
  /** Disconnects and drops the database. */
  close(): Promise<void>
}

/** Opens a fresh SQLite file database or a new PostgreSQL database inside `databaseUrl`. */
export async function openDatabase(
  kind: DbKind,
  databaseUrl?: string,
  options: PostgresOptions = {},
): Promise<TestDatabase> {
  return kind === 'sqlite' ? openSqlite(options) : openPostgres(databaseUrl, options)
}

/**
 * Options of a test database. PostgreSQL only: the tables in another schema (PrismaPg's `schema`
 * option), SQL run as superuser after the tables exist, the role the client connects as.
 */
export interface PostgresOptions {
  poolSize?: number
  schema?: string
  setup?: readonly string[]
  user?: string
  /** Receives every SQL statement the client sends. */
  onQuery?: (sql: string) => void
}

async function openSqlite(options: PostgresOptions): Promise<TestDatabase> {
  const { PrismaClient } = await import(generated('sqlite/client.ts'))
  const { metadata } = await import(generated('sqlite/freshkey/index.js'))
  // tmpfs when there is one: SQLite's fsync per commit dominates otherwise.
  const file = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fk-prisma-${randomUUID()}.db`)
  const url = `file:${file}`
  const setup = createClient({ url })
  await setup.executeMultiple(ddl.sqlite.map((s) => `${s};`).join('\n'))
  setup.close()
  const base = new PrismaClient({
    adapter: libsqlAdapter(url) as never,
    ...(options.onQuery ? { log: [{ emit: 'event' as const, level: 'query' as const }] } : {}),
  })
  if (options.onQuery) (base as unknown as QueryEvents).$on('query', (e) => options.onQuery!(e.query))
  return {
    kind: 'sqlite',
    base,
    metadata,
    async sql(text, values = []) {
      const c = createClient({ url })
      try {
        await c.execute({ sql: text, args: values as never })
      } finally {
        c.close()
      }
    },
    async close() {
      await base.$disconnect()
      for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
    },
  }
}

async function openPostgres(
  databaseUrl: string | undefined,
  options: PostgresOptions,
): Promise<TestDatabase> {
  const { poolSize = 10, schema, setup: extra = [], user } = options
  if (!databaseUrl) throw new Error('openDatabase("postgres") needs DATABASE_URL')
  const { PrismaClient } = await import(generated('postgresql/client.ts'))
  const { metadata } = await import(generated('postgresql/freshkey/index.js'))
  const name = `fk_prisma_${randomUUID().replaceAll('-', '').slice(0, 16)}`
  const admin = await pgConnect(databaseUrl)
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(databaseUrl)
  url.pathname = `/${name}`
  const setup = await pgConnect(url.href)
  try {
    if (schema) await setup.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`)
    for (const statement of [...ddl.postgresql, ...extra]) await setup.query(statement)
  } finally {
    await setup.end()
  }
  const connect = new URL(url.href)
  if (user) connect.username = user
  const base = new PrismaClient({
    adapter: new PrismaPg({ connectionString: connect.href, max: poolSize }, schema ? { schema } : {}),
    ...(options.onQuery ? { log: [{ emit: 'event' as const, level: 'query' as const }] } : {}),
  }) as unknown as TestClient
  if (options.onQuery) (base as unknown as QueryEvents).$on('query', (e) => options.onQuery!(e.query))
  return {
    kind: 'postgres',
    base,
    metadata,
    async sql(text, values = []) {
      const c = await pgConnect(url.href)
      try {
        if (schema) await c.query(`SET search_path TO ${schema}`)
        await c.query(text, values)
      } finally {
        await c.end()
      }
    },
    async close() {
      await base.$disconnect()
      const drop = await pgConnect(databaseUrl)
      try {
        await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await drop.end()
      }
    },
  }
}
