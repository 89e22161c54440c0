import type { RowImage } from '@freshkey/core'
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm'
import type { TypeORMAdapter } from './adapter.ts'
import { readBeforeImages } from './before-images.ts'
import { type WriteContext, writeContext } from './context.ts'
import { sharedRunner, type WriteQueryBuilder } from './internals.ts'
import { planWrite, type WriteKind, type WritePlan, writeChanges } from './query-builder-changes.ts'
import { adaptersOf } from './registry.ts'
import { hintAnd, hintOr, hintWhere, type RowHint, rowsOfIds } from './where-rows.ts'

// Write query builders carry what their events do not: the WHERE (so `repository.update(id)` is a
// row change, not a bulk one), `callListeners(false)` writes, INSERT ... SELECT and junction
// writes of RelationQueryBuilder. Their prototypes are patched once per TypeORM copy; the patch
// does nothing for data sources without a live adapter.

const HINT = Symbol('freshkey.rowHint')
const QUERY_BUILDER: WriteContext = Object.freeze({ queryBuilder: true })
const patched = new WeakSet<object>()

type Hinted = WriteQueryBuilder & { [HINT]?: RowHint; expressionMap: { wheres?: unknown[] } }
type Method = (this: Hinted, ...args: unknown[]) => unknown

const metadataOf = (qb: Hinted): EntityMetadata | undefined => {
  const alias = qb.expressionMap.mainAlias
  return alias?.hasMetadata ? alias.metadata : undefined
}
const hintOf = (qb: Hinted): RowHint =>
  qb[HINT] ?? ((qb.expressionMap.wheres?.length ?? 0) > 0 ? 'unknown' : 'all')

function wrap(proto: Record<string, unknown>, name: string, make: (orig: Method) => Method): void {
  const orig = proto[name]
  if (typeof orig === 'function') proto[name] = make(orig as Method)
}

function patchWhere(proto: Record<string, unknown>): void {
  wrap(
    proto,
    'where',
    (orig) =>
      function (where, ...rest) {
        const result = orig.call(this, where, ...rest)
        this[HINT] = hintWhere(metadataOf(this), where)
        return result
      },
  )
  wrap(
    proto,
    'andWhere',
    (orig) =>
      function (where, ...rest) {
        const prior = hintOf(this)
        const result = orig.call(this, where, ...rest)
        this[HINT] =
          prior === 'all' ? hintWhere(metadataOf(this), where) : hintAnd(prior, metadataOf(this), where)
        return result
      },
  )
  wrap(
    proto,
    'orWhere',
    (orig) =>
      function (where, ...rest) {
        const prior = hintOf(this)
        const result = orig.call(this, where, ...rest)
        this[HINT] = hintOr(prior, metadataOf(this), where)
        return result
      },
  )
  const idsHint = (qb: Hinted, ids: unknown): RowHint => {
    const md = metadataOf(qb)
    const rows = md ? rowsOfIds(md, ids) : undefined
    return rows ? { rows } : 'unknown'
  }
  wrap(
    proto,
    'whereInIds',
    (orig) =>
      function (ids) {
        const result = orig.call(this, ids)
        this[HINT] = idsHint(this, ids)
        return result
      },
  )
  wrap(
    proto,
    'andWhereInIds',
    (orig) =>
      function (ids) {
        const prior = hintOf(this)
        const result = orig.call(this, ids)
        this[HINT] = typeof prior === 'object' ? prior : idsHint(this, ids)
        return result
      },
  )
  wrap(
    proto,
    'orWhereInIds',
    (orig) =>
      function (ids) {
        const prior = hintOf(this)
        const result = orig.call(this, ids)
        const next = idsHint(this, ids)
        this[HINT] =
          prior === 'all'
            ? next
            : typeof prior === 'object' && typeof next === 'object'
              ? { rows: [...prior.rows, ...next.rows] }
              : 'unknown'
        return result
      },
  )
  wrap(
    proto,
    'whereEntity',
    (orig) =>
      function (entity) {
        // whereEntity clears the WHERE and ORs one id condition per entity.
        delete this[HINT]
        return orig.call(this, entity)
      },
  )
}

function kindOf(qb: Hinted, fallback: WriteKind): WriteKind {
  const type = qb.expressionMap.queryType
  return type === 'restore' || type === 'soft-delete' ? type : fallback
}

function patchExecute(proto: Record<string, unknown>, fallback: WriteKind): void {
  wrap(
    proto,
    'execute',
    (execute) =>
      function () {
        const adapters = adaptersOf(this.dataSource)
        if (!adapters) return execute.call(this)
        // Persistence runs its own builders with listeners off and reports the rows through events.
        if (this.expressionMap.callListeners === false && writeContext.getStore()?.persistence)
          return execute.call(this)
        return hookedExecute(this, [...adapters], execute, kindOf(this, fallback))
      },
  )
}

async function hookedExecute(
  qb: Hinted,
  adapters: TypeORMAdapter[],
  execute: Method,
  kind: WriteKind,
): Promise<unknown> {
  let plan: WritePlan | undefined
  try {
    plan = planWrite(qb, kind, hintOf(qb))
  } catch (error) {
    for (const a of adapters) a.report(error)
  }
  if (!plan) return execute.call(qb)
  const fields =
    plan.rows && plan.metadata && kind !== 'insert' && kind !== 'restore'
      ? beforeFieldsOf(adapters, plan)
      : []
  if (fields.length > 0) return executeWithBefore(qb, adapters, execute, plan, fields)
  // A builder without a runner of its own ran on a fresh connection (committed by now), or on the
  // one shared connection of SQLite drivers, which may be inside someone's transaction.
  const runner = qb.queryRunner ?? sharedRunner(qb.dataSource)
  const result = await writeContext.run(QUERY_BUILDER, () => execute.call(qb))
  await recordAll(adapters, runner, plan, result)
  return result
}

function beforeFieldsOf(adapters: TypeORMAdapter[], plan: WritePlan): string[] {
  const fields = [...new Set(adapters.flatMap((a) => a.beforeFields(plan.table)))]
  if (plan.kind === 'update' && !fields.some((f) => plan.changed.includes(f))) return []
  return fields
}

async function recordAll(
  adapters: TypeORMAdapter[],
  runner: QueryRunner | undefined,
  plan: WritePlan,
  result: unknown,
  before?: Map<string, RowImage>,
) {
  await Promise.all(
    adapters.map((a) => {
      try {
        return a.record(runner, writeChanges(a, plan, result, before))
      } catch (error) {
        a.report(error)
        return a.record(runner, [{ table: plan.table, kind: 'bulk' }])
      }
    }),
  )
}

/**
 * A write that may move rows between scopes: read their scoped columns first, in the same
 * transaction (one is opened around the builder when none is active) so nothing changes between
 * the read and the write.
 */
async function executeWithBefore(
  qb: Hinted,
  adapters: TypeORMAdapter[],
  execute: Method,
  plan: WritePlan,
  fields: string[],
): Promise<unknown> {
  const given = qb.queryRunner
  const runner = qb.obtainQueryRunner()
  const writable = qb as { queryRunner?: QueryRunner }
  // Pinning the runner on the builder makes execute() use it and leave its release to us.
  writable.queryRunner = runner
  const own = !runner.isTransactionActive && runner.dataSource.driver.transactionSupport !== 'none'
  try {
    if (own) await runner.startTransaction()
    let before: Map<string, RowImage> | undefined
    try {
      before = await readBeforeImages(runner, plan.metadata!, plan.rows!, fields)
    } catch (error) {
      for (const a of adapters) a.report(error)
      if (own) {
        // PostgreSQL aborts a transaction after any failed statement: start clean, without images.
        await runner.rollbackTransaction()
        await runner.startTransaction()
      }
    }
    const result = await writeContext.run(QUERY_BUILDER, () => execute.call(qb))
    await recordAll(adapters, runner, plan, result, before)
    if (own) await runner.commitTransaction()
    return result
  } catch (error) {
    if (own && runner.isTransactionActive) await runner.rollbackTransaction().catch(() => {})
    throw error
  } finally {
    writable.queryRunner = given
    if (runner !== given) await runner.release()
  }
}

/** Patches the write builders of the TypeORM copy this data source uses (once per copy). */
export function installQueryBuilderHooks(dataSource: DataSource): void {
  const select = dataSource.createQueryBuilder()
  const registry = (
    select.constructor as unknown as { queryBuilderRegistry?: Record<string, (qb: unknown) => object> }
  ).queryBuilderRegistry
  if (!registry) throw new TypeError('TypeORM query builder registry not found (unsupported TypeORM version)')
  const builders: [string, WriteKind][] = [
    ['InsertQueryBuilder', 'insert'],
    ['UpdateQueryBuilder', 'update'],
    ['DeleteQueryBuilder', 'delete'],
    ['SoftDeleteQueryBuilder', 'soft-delete'],
  ]
  for (const [name, kind] of builders) {
    const factory = registry[name]
    if (typeof factory !== 'function')
      throw new TypeError(`TypeORM ${name} not found (unsupported TypeORM version)`)
    const proto = Object.getPrototypeOf(factory(select)) as Record<string, unknown>
    if (patched.has(proto)) continue
    patched.add(proto)
    if (kind !== 'insert') patchWhere(proto)
    patchExecute(proto, kind)
  }
}
