import type { Change } from '@freshkey/core'
import type { DataSource, EntityManager, QueryRunner } from 'typeorm'
import { transactionContext, writeContext } from './context.ts'
import { isEntitySchema, sharedRunner } from './internals.ts'
import { adaptersOf } from './registry.ts'

// EntityManager methods (Repository and BaseEntity call them) patched once per TypeORM copy:
// - save/remove/softRemove/recover mark persistence, so its internal builders are left to events;
// - transaction(fn) runs fn with its query runner as the current transaction (read-your-writes);
// - clear() truncates without events: a bulk change.

type Method = (this: EntityManager, ...args: unknown[]) => unknown
const patched = new WeakSet<object>()

/** The options argument of save/remove/softRemove/recover, normalized like TypeORM does. */
function persistOptions(args: unknown[]): { listeners?: boolean } | undefined {
  const [first] = args
  const hasTarget =
    args.length > 1 && (typeof first === 'function' || typeof first === 'string' || isEntitySchema(first))
  const options = hasTarget ? args[2] : args[1]
  return typeof options === 'object' && options !== null ? (options as { listeners?: boolean }) : undefined
}

function ownerOf(proto: object, name: string): Record<string, unknown> | undefined {
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, name)) return p as Record<string, unknown>
  }
  return undefined
}

/** The runner a manager call ran on: its own, or the one shared connection of SQLite-style drivers. */
export function runnerOf(dataSource: DataSource, runner: QueryRunner | undefined): QueryRunner | undefined {
  return runner ?? (dataSource.isInitialized ? sharedRunner(dataSource) : undefined)
}

export function installEntityManagerHooks(dataSource: DataSource): void {
  const owner = ownerOf(Object.getPrototypeOf(dataSource.manager), 'save')
  if (!owner || patched.has(owner)) return
  patched.add(owner)

  for (const name of ['save', 'remove', 'softRemove', 'recover']) {
    const orig = owner[name] as Method
    owner[name] = function (this: EntityManager, ...args: unknown[]) {
      if (!adaptersOf(this.dataSource)) return orig.apply(this, args)
      const listeners = persistOptions(args)?.listeners !== false
      return writeContext.run({ persistence: listeners }, () => orig.apply(this, args))
    }
  }

  const transaction = owner.transaction as Method
  owner.transaction = function (this: EntityManager, ...args: unknown[]) {
    if (!adaptersOf(this.dataSource)) return transaction.apply(this, args)
    const at = typeof args[0] === 'function' ? 0 : 1
    const fn = args[at]
    if (typeof fn === 'function') {
      args[at] = (manager: EntityManager) =>
        manager.queryRunner ? transactionContext.run(manager.queryRunner, () => fn(manager)) : fn(manager)
    }
    return transaction.apply(this, args)
  }

  const clear = owner.clear as Method
  owner.clear = async function (this: EntityManager, ...args: unknown[]) {
    const result = await clear.apply(this, args)
    const adapters = adaptersOf(this.dataSource)
    if (adapters) {
      const cascade = (args[1] as { cascade?: boolean } | undefined)?.cascade === true
      const runner = runnerOf(this.dataSource, this.queryRunner)
      await Promise.all(
        [...adapters].map((a) => {
          let changes: Change[]
          try {
            const table = this.dataSource.getMetadata(args[0] as string).tableName
            const tables = new Set([
              table,
              ...a.cascades.onDelete(table),
              ...(cascade ? a.cascades.referencing(table) : []),
            ])
            changes = [...tables].map((t) => ({ table: t, kind: 'bulk' as const }))
          } catch (error) {
            a.report(error)
            return undefined
          }
          return a.record(runner, changes)
        }),
      )
    }
    return result
  }
}
