import type { Change, Freshkey } from '@freshkey/core'
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm'
import { type FreshkeyTypeORMOptions, TypeORMAdapter } from './adapter.ts'
import { transactionContext } from './context.ts'
import { dropSubscriber, keepSubscriber } from './data-source-hooks.ts'
import { installEntityManagerHooks, runnerOf } from './entity-manager-hooks.ts'
import { metadataOfTarget } from './entity-resolver.ts'
import { AdapterDisposedError, SubscriberInactiveError, UnsupportedDriverError } from './errors.ts'
import { installQueryBuilderHooks } from './query-builder-hooks.ts'
import { addAdapter, removeAdapter } from './registry.ts'
import { createSubscriber, type FreshkeySubscriber, plainLoadListener } from './subscriber.ts'

/** What {@link freshkeyTypeORM} returns. */
export interface FreshkeyTypeORM {
  readonly dataSource: DataSource
  readonly fk: Freshkey
  /** True while the subscriber sits in `dataSource.subscribers` (so TypeORM delivers its events). */
  readonly active: boolean
  /**
   * Proves events arrive: starts and rolls back an empty transaction on a new query runner and
   * checks that the subscriber saw both. Throws `SubscriberInactiveError` otherwise.
   */
  verify(): Promise<void>
  /** Runs `fn` as code inside the transaction of a query runner you drive by hand (`startTransaction()` ...). */
  runInTransaction<T>(queryRunner: QueryRunner, fn: () => T): T
  /**
   * Declares that rows of these tables changed in a way the adapter cannot see (raw SQL on a
   * query runner, triggers, other programs): recorded in the transaction of `via` if it is in one,
   * else bumped now.
   */
  changed(
    targets: readonly (string | EntityTarget<ObjectLiteral>)[],
    via?: EntityManager | QueryRunner,
  ): Promise<void>
  /** The database table of an entity class, EntitySchema or entity name. */
  tableOf(target: EntityTarget<ObjectLiteral>): string | undefined
  /** Stops watching: removes the subscriber, the resolver and the transaction source. */
  dispose(): void
}

const handles = new WeakMap<DataSource, Map<Freshkey, Handle>>()

class Handle implements FreshkeyTypeORM {
  readonly dataSource: DataSource
  readonly fk: Freshkey
  readonly #adapter: TypeORMAdapter
  readonly #subscriber: FreshkeySubscriber

  constructor(adapter: TypeORMAdapter, subscriber: FreshkeySubscriber) {
    this.dataSource = adapter.dataSource
    this.fk = adapter.fk
    this.#adapter = adapter
    this.#subscriber = subscriber
  }

  get active(): boolean {
    return !this.#adapter.disposed && this.dataSource.subscribers.includes(this.#subscriber)
  }

  #live(): void {
    if (this.#adapter.disposed) throw new AdapterDisposedError()
  }

  async verify(): Promise<void> {
    this.#live()
    if (!this.active)
      throw new SubscriberInactiveError('the freshkey subscriber is not in dataSource.subscribers')
    if (!this.dataSource.isInitialized)
      throw new SubscriberInactiveError('initialize() the data source before verify()')
    const runner = this.dataSource.createQueryRunner()
    // A shared connection (SQLite drivers) in someone's transaction: do not nest a probe into it.
    if (runner.isTransactionActive) return
    try {
      await runner.startTransaction()
      await runner.rollbackTransaction()
    } finally {
      await runner.release()
    }
    if (!this.#adapter.seen.has(runner)) {
      throw new SubscriberInactiveError(
        'a probe transaction did not reach the freshkey subscriber: TypeORM is not delivering its events',
      )
    }
  }

  runInTransaction<T>(queryRunner: QueryRunner, fn: () => T): T {
    return transactionContext.run(queryRunner, fn)
  }

  async changed(
    targets: readonly (string | EntityTarget<ObjectLiteral>)[],
    via?: EntityManager | QueryRunner,
  ): Promise<void> {
    this.#live()
    const runner =
      via && 'manager' in via && 'isTransactionActive' in via
        ? (via as QueryRunner)
        : (via as EntityManager | undefined)?.queryRunner
    const changes: Change[] = []
    for (const target of targets) {
      const table =
        (typeof target === 'string' && this.#adapter.knownTables.has(target) ? target : undefined) ??
        this.tableOf(target)
      const name = table ?? (typeof target === 'string' ? target : undefined)
      if (name === undefined) throw new TypeError('changed(): unknown entity target')
      for (const t of [name, ...this.#adapter.cascades.onDelete(name)])
        changes.push({ table: t, kind: 'bulk' })
    }
    await this.#adapter.record(runnerOf(this.dataSource, runner), changes)
  }

  tableOf(target: EntityTarget<ObjectLiteral>): string | undefined {
    return metadataOfTarget(this.#adapter, target)?.tableName
  }

  dispose(): void {
    if (this.#adapter.disposed) return
    this.#adapter.dispose()
    removeAdapter(this.#adapter)
    dropSubscriber(this.dataSource, this.#subscriber)
    handles.get(this.dataSource)?.delete(this.fk)
  }
}

/**
 * Watches a TypeORM data source for one freshkey instance: every committed write bumps the
 * tokens of what it changed, once, after the commit and before the call that committed returns.
 * Call it before or after `dataSource.initialize()`. Calling it again with the same data source
 * and freshkey instance returns the same handle (options of later calls are ignored), so events
 * are never counted twice.
 */
export function freshkeyTypeORM(
  dataSource: DataSource,
  fk: Freshkey,
  options: FreshkeyTypeORMOptions = {},
): FreshkeyTypeORM {
  const type = String(dataSource.options.type)
  if (type === 'mongodb') throw new UnsupportedDriverError(type)
  let byFk = handles.get(dataSource)
  const existing = byFk?.get(fk)
  if (existing) return existing
  const adapter = new TypeORMAdapter(dataSource, fk, options)
  const subscriber = createSubscriber(adapter)
  adapter.onScan = (metadatas) => {
    // Plain-object entities (EntitySchema without a class) are tagged on load so keyFor knows them.
    if (metadatas.some((md) => typeof md.target !== 'function' && md.tableType !== 'junction')) {
      subscriber.afterLoad = plainLoadListener(adapter)
    }
  }
  installQueryBuilderHooks(dataSource)
  installEntityManagerHooks(dataSource)
  addAdapter(adapter)
  keepSubscriber(dataSource, subscriber)
  adapter.ensureMetadata()
  const handle = new Handle(adapter, subscriber)
  if (!handle.active) {
    handle.dispose()
    throw new SubscriberInactiveError('could not place the freshkey subscriber in dataSource.subscribers')
  }
  if (!byFk) {
    byFk = new Map()
    handles.set(dataSource, byFk)
  }
  byFk.set(fk, handle)
  return handle
}
