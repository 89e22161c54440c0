import { AdapterSetupError } from '@freshkey/core/adapter'
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm'
import { bindingsOf } from './binding.ts'
import {
  around,
  firstPatch,
  isEntitySchema,
  runnerOf,
  transactionContext,
  writeContext,
} from './internals.ts'
import { installReadHooks, rawRead } from './reads.ts'
import { installWriteHooks } from './writes.ts'

// Per data source: our subscribers stay in `dataSource.subscribers` (initialize() replaces it) and
// raw `query()` calls are seen. Per TypeORM copy: the EntityManager methods below and the query
// builders; every hook is inert for a data source without a live binding.

const KEPT = Symbol.for('freshkey.typeorm.subscribers')
const kept = (ds: DataSource) =>
  (ds as unknown as Record<symbol, Set<EntitySubscriberInterface> | undefined>)[KEPT]

/** Puts a subscriber into `dataSource.subscribers` and keeps it there across initialize(), or takes it out. */
export function keepSubscriber(ds: DataSource, subscriber: EntitySubscriberInterface, keep: boolean): void {
  kept(ds)?.[keep ? 'add' : 'delete'](subscriber)
  const i = ds.subscribers.indexOf(subscriber)
  if (keep && i < 0) ds.subscribers.push(subscriber)
  else if (!keep && i >= 0) ds.subscribers.splice(i, 1)
}

export function installHooks(ds: DataSource): void {
  if (firstPatch(ds)) installDataSource(ds)
  let owner: object | null = Object.getPrototypeOf(ds.manager)
  while (owner && !Object.hasOwn(owner, 'save')) owner = Object.getPrototypeOf(owner)
  if (!owner)
    throw new AdapterSetupError('typeorm', 'EntityManager.save not found (unsupported TypeORM version)')
  if (firstPatch(owner)) installManager(owner)
  const select = ds.createQueryBuilder()
  installReadHooks(Object.getPrototypeOf(select))
  installWriteHooks(select)
}

function installDataSource(ds: DataSource): void {
  const keep = new Set<EntitySubscriberInterface>()
  Object.defineProperty(ds, KEPT, { value: keep })
  let list = ds.subscribers
  Object.defineProperty(ds, 'subscribers', {
    configurable: true,
    enumerable: true,
    get: () => list,
    set: (next: EntitySubscriberInterface[]) => {
      list = next
      for (const s of keep) if (!list.includes(s)) list.push(s)
    },
  })
  const { query, initialize } = ds
  ds.query = async function (this: DataSource, sql: string, parameters?: unknown[], runner?: QueryRunner) {
    const bindings = bindingsOf(ds)
    if (bindings.length === 0 || typeof sql !== 'string') return query.call(this, sql, parameters, runner)
    const read = await rawRead(bindings, sql)
    const result = await query.call(this, sql, parameters, runner)
    read?.()
    const used = runnerOf(ds, runner)
    const inTransaction = used?.isTransactionActive === true
    await Promise.all(bindings.map((b) => b.raw(used, sql, parameters ?? [], inTransaction)))
    return result
  } as DataSource['query']
  ds.initialize = async function (this: DataSource) {
    const result = await initialize.call(this)
    bindingsOf(ds)
    return result
  }
}

/** save/remove/softRemove/recover's options argument, read like TypeORM does: after the target when given. */
function listenersOn(args: unknown[]): boolean {
  const [first] = args
  const targeted =
    args.length > 1 && (typeof first === 'function' || typeof first === 'string' || isEntitySchema(first))
  return (args[targeted ? 2 : 1] as { listeners?: boolean } | undefined)?.listeners !== false
}

function installManager(owner: object): void {
  const watched = (em: EntityManager) => bindingsOf(em.connection).length > 0
  // Persistence reports its rows through entity events; its own builders are left alone.
  for (const name of ['save', 'remove', 'softRemove', 'recover'])
    around(owner, name, function (this: EntityManager, orig, args) {
      if (!watched(this)) return orig.apply(this, args)
      return writeContext.run({ persistence: listenersOn(args) }, () => orig.apply(this, args))
    })
  around(owner, 'transaction', function (this: EntityManager, orig, args) {
    const at = typeof args[0] === 'function' ? 0 : 1
    const fn = args[at] as (m: EntityManager) => unknown
    if (typeof fn === 'function' && watched(this))
      args[at] = (m: EntityManager) =>
        m.queryRunner ? transactionContext.run(m.queryRunner, () => fn(m)) : fn(m)
    return orig.apply(this, args)
  })
  // clear() truncates without events.
  around(owner, 'clear', async function (this: EntityManager, orig, args) {
    const result = await orig.apply(this, args)
    const bindings = bindingsOf(this.connection)
    if (bindings.length === 0) return result
    const table = this.connection.getMetadata(args[0]).tableName
    const runner = runnerOf(this.connection, this.queryRunner)
    const facts = [
      { table, kind: 'bulk' as const, verb: 'truncate' as const, cascade: args[1]?.cascade === true },
    ]
    await Promise.all(bindings.map((b) => b.record(runner, facts, runner?.isTransactionActive === true)))
    return result
  })
}
