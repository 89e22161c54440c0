import { AsyncLocalStorage } from 'node:async_hooks'
import type { Change } from '@freshkey/core'
import type { EntityManager } from '@mikro-orm/core'

/** The entity manager whose result cache lookup or store is running (set around `tryCache`/`storeCache`). */
export const cachingEm = new AsyncLocalStorage<EntityManager>()

/** Changes of one upsert call's `afterUpsert` events, delivered together when the call returns. */
export interface UpsertBatch {
  readonly entries: { readonly owner: object; readonly trx: unknown; readonly changes: Change[] }[]
}

/** Set around `em.upsert` / `em.upsertMany` so `upsertMany` of n rows costs one store call, not n. */
export const upsertBatch = new AsyncLocalStorage<UpsertBatch>()
