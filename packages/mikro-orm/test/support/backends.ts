import { randomUUID } from 'node:crypto'
import { createFreshkey, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import type { Options } from '@mikro-orm/core'
import { MikroORM as LibSqlORM } from '@mikro-orm/libsql'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import { serviceUrl } from '../../../../test/support/services.ts'

export type Db = 'sqlite' | 'postgres'
export type StoreKind = 'memory' | 'redis'

export interface Backend {
  readonly name: string
  readonly db: Db
  readonly store: StoreKind
}

const redisUrl = serviceUrl('REDIS_URL')
const databaseUrl = serviceUrl('DATABASE_URL')

/** Every database × store combination available here (all four in CI, where a missing server fails). */
export const backends: Backend[] = (['sqlite', 'postgres'] as const).flatMap((db) =>
  (['memory', 'redis'] as const)
    .filter((store) => (db !== 'postgres' || databaseUrl) && (store !== 'redis' || redisUrl))
    .map((store) => ({ name: `${db} + ${store}Store`, db, store })),
)

export const postgresUrl = databaseUrl

export function makeStore(kind: StoreKind): Store {
  return kind === 'redis' ? redisStore(redisUrl!) : memoryStore()
}

export function makeFreshkey(kind: StoreKind): Freshkey {
  return createFreshkey({ store: makeStore(kind), namespace: `mikro-${randomUUID()}` })
}

/** A PostgreSQL URL of a fresh database on the server (created through MikroORM itself). */
export async function freshDatabase(
  prefix = 'fk_mikro',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = await PostgreSqlORM.init({
    clientUrl: databaseUrl!,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
  })
  await admin.em.execute(`create database ${name}`)
  const url = new URL(databaseUrl!)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      await admin.em.execute(`drop database if exists ${name} with (force)`)
      await admin.close(true)
    },
  }
}

export interface OpenOrm {
  readonly orm: LibSqlORM | PostgreSqlORM
  /** Deletes every row (freshkey does not see it: no bump). */
  clear(): Promise<void>
  close(): Promise<void>
}

type Schema = { create?: () => Promise<void>; clear?: () => Promise<void> }
type SchemaGenerator6 = { createSchema(): Promise<void>; clearDatabase(): Promise<void> }

/** `orm.schema` in MikroORM 7, `orm.getSchemaGenerator()` in 6. */
function schemaOf(orm: LibSqlORM | PostgreSqlORM): { create(): Promise<void>; clear(): Promise<void> } {
  const schema = (orm as unknown as { schema?: Schema }).schema
  if (schema?.create) return { create: () => schema.create!(), clear: () => schema.clear!() }
  const generator = (orm as unknown as { getSchemaGenerator(): SchemaGenerator6 }).getSchemaGenerator()
  return { create: () => generator.createSchema(), clear: () => generator.clearDatabase() }
}

/** An initialized ORM with the schema created, on an in-memory libsql database or a fresh PostgreSQL one. */
export async function openOrm(db: Db, options: Partial<Options>): Promise<OpenOrm> {
  if (db === 'sqlite') {
    const orm = await LibSqlORM.init({ dbName: ':memory:', ...(options as object) })
    await schemaOf(orm).create()
    return { orm, clear: () => schemaOf(orm).clear(), close: () => orm.close(true) }
  }
  const database = await freshDatabase()
  const orm = await PostgreSqlORM.init({
    clientUrl: database.url,
    pool: { min: 0, max: 20 },
    ...(options as object),
  })
  await schemaOf(orm).create()
  return {
    orm,
    clear: () => schemaOf(orm).clear(),
    close: async () => {
      await orm.close(true)
      await database.drop()
    },
  }
}
