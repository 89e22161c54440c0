import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm'
import { bindingsOf } from './binding.ts'
import {
  dataSourceOf,
  isEntitySchema,
  ownerOf,
  patch,
  runnerOf,
  transactionContext,
  writeContext,
} from './internals.ts'
import { installReadHooks, rawRead } from './reads.ts'
import { installWriteHooks } from './writes.ts'

// Per data source: keep our subscribers in `dataSource.subscribers` (initialize() replaces that
// array, dropping instances pushed earlier) and see raw `query()` calls. Per TypeORM copy: the
// EntityManager methods below and the query builders. Every hook does nothing for a data source
// without a live binding.

const kept = new WeakMap<DataSource, Set<EntitySubscriberInterface>>()
const managers = new WeakSet<object>()

/** Puts a subscriber into `dataSource.subscribers` and keeps it there across initialize(), or takes it out. */
export function keepSubscriber(ds: DataSource, subscriber: EntitySubscriberInterface, keep: boolean): void {
  const set = kept.get(ds)
  if (keep) {
    set?.add(subscriber)
    if (!ds.subscribers.includes(subscriber)) ds.subscribers.push(subscriber)
    return
  }
  set?.delete(subscriber)
  const i = ds.subscribers.indexOf(subscriber)
  if (i >= 0) ds.subscribers.splice(i, 1)
}

export function installHooks(ds: DataSource): void {
  installDataSource(ds)
  installManager(ds)
  const select = ds.createQueryBuilder()
  installReadHooks(Object.getPrototypeOf(select))
  installWriteHooks(select)
}

function installDataSource(ds: DataSource): void {
  if (kept.has(ds)) return
  const keep = new Set<EntitySubscriberInterface>()
  kept.set(ds, keep)
  let list: EntitySubscriberInterface[] = ds.subscribers
  Object.defineProperty(ds, 'subscribers', {
    configurable: true,
    enumerable: true,
    get: () => list,
    set: (next: EntitySubscriberInterface[]) => {
      list = next
      for (const s of keep) if (!list.includes(s)) list.push(s)
    },
  })
  const query = ds.query
  const self = ds as unknown as {
    query: (sql: unknown, parameters?: unknown[], runner?: QueryRunner) => Promise<unknown>
  }
  self.query = async function (this: DataSource, sql, parameters, runner) {
    const bindings = bindingsOf(ds)
    if (bindings.length === 0 || typeof sql !== 'string')
      return query.call(this, sql as string, parameters, runner)
    const read = await rawRead(bindings, sql)
    const result = await query.call(this, sql, parameters, runner)
    read?.()
    const used = runnerOf(ds, runner)
    await Promise.all(
      bindings.map((b) => b.raw(used, sql, parameters ?? [], used?.isTransactionActive === true)),
    )
    return result
  }
  const initialize = ds.initialize
  ds.initialize = async function (this: DataSource) {
    const result = await initialize.call(this)
    bindingsOf(ds)
    return result
  }
}

/** The options argument of save/remove/softRemove/recover, normalized like TypeORM does. */
function listenersOn(args: unknown[]): boolean {
  const [first] = args
  const hasTarget =
    args.length > 1 && (typeof first === 'function' || typeof first === 'string' || isEntitySchema(first))
  const options = (hasTarget ? args[2] : args[1]) as { listeners?: boolean } | undefined
  return options?.listeners !== false
}

function installManager(ds: DataSource): void {
  const owner = ownerOf(Object.getPrototypeOf(ds.manager), 'save')
  if (!owner || managers.has(owner)) return
  managers.add(owner)
  // Persistence reports its rows through entity events; its own builders are left alone.
  for (const name of ['save', 'remove', 'softRemove', 'recover'])
    patch(
      owner,
      name,
      (orig) =>
        function (this: EntityManager, ...args: unknown[]) {
          if (bindingsOf(dataSourceOf(this)).length === 0) return orig.apply(this, args)
          return writeContext.run({ persistence: listenersOn(args) }, () => orig.apply(this, args))
        },
    )
  patch(
    owner,
    'transaction',
    (orig) =>
      function (this: EntityManager, ...args: unknown[]) {
        const at = typeof args[0] === 'function' ? 0 : 1
        const fn = args[at]
        if (typeof fn === 'function' && bindingsOf(dataSourceOf(this)).length > 0)
          args[at] = (m: EntityManager) =>
            m.queryRunner ? transactionContext.run(m.queryRunner, () => fn(m)) : fn(m)
        return orig.apply(this, args)
      },
  )
  // clear() truncates without events.
  patch(
    owner,
    'clear',
    (orig) =>
      async function (this: EntityManager, ...args: unknown[]) {
        const result = await orig.apply(this, args)
        const bindings = bindingsOf(dataSourceOf(this))
        if (bindings.length > 0) {
          const table = dataSourceOf(this).getMetadata(args[0] as string).tableName
          const cascade = (args[1] as { cascade?: boolean } | undefined)?.cascade === true
          const used = runnerOf(dataSourceOf(this), this.queryRunner)
          const facts = [{ table, kind: 'bulk' as const, verb: 'truncate' as const, cascade }]
          await Promise.all(bindings.map((b) => b.record(used, facts, used?.isTransactionActive === true)))
        }
        return result
      },
  )
}
