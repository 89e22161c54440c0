import { randomUUID } from 'node:crypto'
import { createFreshkey, type Freshkey, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { DataSource, type DataSourceOptions } from 'typeorm'
import { afterAll } from 'vitest'
import { serviceUrl } from '../../../../test/support/services.ts'
import { freshPostgres } from './postgres.ts'

export { serviceUrl }

export type Db = 'sqlite' | 'postgres'
export type StoreKind = 'memory' | 'redis'

const dbs: Db[] = ['sqlite', ...(serviceUrl('DATABASE_URL') ? (['postgres'] as const) : [])]
// FK_STORES=memory runs without Redis-backed cases, and says so.
const only = process.env.FK_STORES?.split(',')
if (only) console.warn(`[freshkey] FK_STORES=${only.join(',')}: other stores are not tested in this run`)
const stores: StoreKind[] = (
  ['memory', ...(serviceUrl('REDIS_URL') ? (['redis'] as const) : [])] as StoreKind[]
).filter((s) => !only || only.includes(s))

/** Every database × store combination this machine can run. */
export const combos: [Db, StoreKind][] = dbs.flatMap((db) => stores.map((s): [Db, StoreKind] => [db, s]))
export const databases: Db[] = dbs

// One PostgreSQL database per test file and entity set: created and synchronized on first use,
// emptied (TRUNCATE) for every later data source, dropped after the file.
const databasesByEntities = new Map<unknown, Promise<{ url: string; drop: () => Promise<void> }>>()
afterAll(async () => {
  for (const db of databasesByEntities.values()) await (await db).drop()
  databasesByEntities.clear()
})

/** An initialized data source on an empty database with the schema of `entities`. */
export async function openDataSource(
  db: Db,
  entities: DataSourceOptions['entities'],
  extra: Partial<DataSourceOptions> = {},
): Promise<{ ds: DataSource; close: () => Promise<void> }> {
  if (db === 'sqlite') {
    const ds = new DataSource({ type: 'sqljs', entities, synchronize: true, ...extra } as DataSourceOptions)
    await ds.initialize()
    return { ds, close: () => (ds.isInitialized ? ds.destroy() : Promise.resolve()) }
  }
  let database = databasesByEntities.get(entities)
  const first = !database
  if (!database) {
    database = freshPostgres()
    databasesByEntities.set(entities, database)
  }
  const { url } = await database
  const ds = new DataSource({
    type: 'postgres',
    url,
    entities,
    synchronize: first,
    ...extra,
  } as DataSourceOptions)
  await ds.initialize()
  if (!first) {
    const tables = ds.entityMetadatas.filter((md) => md.tableType !== 'view').map((md) => `"${md.tableName}"`)
    await ds.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`)
  }
  return { ds, close: () => (ds.isInitialized ? ds.destroy() : Promise.resolve()) }
}

/** A freshkey instance with its own namespace on the chosen store. */
export function openFreshkey(kind: StoreKind): { fk: Freshkey; close: () => Promise<void> } {
  const store = kind === 'memory' ? memoryStore() : redisStore(process.env.REDIS_URL!)
  const fk = createFreshkey({ store, namespace: `typeorm-test-${randomUUID()}` })
  return {
    fk,
    close: async () => {
      await fk.close()
      await store.close()
    },
  }
}
