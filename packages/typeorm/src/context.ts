import { AsyncLocalStorage } from 'node:async_hooks'
import type { QueryRunner } from 'typeorm'

/** Who is writing, so each write is recorded exactly once. */
export interface WriteContext {
  /** Inside `save/remove/softRemove/recover` with listeners on: entity events report the rows. */
  readonly persistence?: boolean
  /** Inside a write query builder's `execute()`: the builder hook reports the rows, events are ignored. */
  readonly queryBuilder?: boolean
}

export const writeContext = new AsyncLocalStorage<WriteContext>()

/** The query runner whose transaction the calling code runs in (`dataSource.transaction(fn)` and friends). */
export const transactionContext = new AsyncLocalStorage<QueryRunner>()
