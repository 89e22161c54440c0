import type { PrimaryKey } from '@freshkey/core'
import type { WriteFact } from '@freshkey/core/adapter'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import { bindingsOf, type TypeORMBinding } from './binding.ts'
import { keysOf } from './filters.ts'
import {
  dataSourceOf,
  type Method,
  patch,
  type QueryBuilderLike,
  runnerOf,
  writeContext,
} from './internals.ts'
import { imageOf, keyImage, pkOf, writtenPaths } from './row-image.ts'
import { filterOf, trackWheres } from './where-hints.ts'

// Write query builders (repository.update/delete/insert/upsert/softDelete/restore/increment,
// QueryBuilder writes, RelationQueryBuilder, `save(..., { listeners: false })`) carry what their
// events do not: the WHERE, so `update(id, …)` names its row. Rows known before the statement runs
// outside a transaction go through `binding.autocommit` (fenced in parallel); the others are
// recorded after it.

type Kind = 'insert' | 'update' | 'delete' | 'soft-delete' | 'restore'

/** What a write builder will do: facts known before it runs, or worked out from its result. */
interface Plan {
  readonly before?: WriteFact[]
  readonly after?: (result: unknown) => WriteFact[]
}

const QUERY_BUILDER = Object.freeze({ queryBuilder: true })
const CLIENT_KEYS = new Set(['uuid'])

function target(qb: QueryBuilderLike): { table: string; md?: EntityMetadata } | undefined {
  const alias = qb.expressionMap.mainAlias
  if (!alias) return undefined
  if (alias.hasMetadata) return { table: alias.metadata.tableName, md: alias.metadata }
  const last = alias.tablePath?.split('.').pop()
  return last ? { table: last.replace(/^["`[]|["`\]]$/g, '') } : undefined
}

function changedOf(md: EntityMetadata, values: ObjectLiteral | undefined): string[] {
  const paths = writtenPaths(md, values)
  for (const c of [md.updateDateColumn, md.versionColumn]) if (c) paths.push(c.propertyPath)
  return [...new Set(paths)]
}

function insertPlan(qb: QueryBuilderLike, table: string, md: EntityMetadata): Plan {
  const em = qb.expressionMap
  const bulk: WriteFact[] = [{ table, kind: 'bulk', verb: 'insert' }]
  if (em.insertFromSelect) return { before: bulk }
  let sets: ObjectLiteral[]
  try {
    sets = qb.getValueSets?.() ?? []
  } catch {
    return { before: bulk }
  }
  const written = [...new Set(sets.flatMap((v) => changedOf(md, v)))]
  if (em.onUpdate && Object.keys(em.onUpdate).length > 0) {
    // An upsert names its row only when the conflict target is the primary key.
    const conflict = new Set([em.onUpdate.conflict ?? []].flat())
    const keys = md.primaryColumns.map((c) => c.databaseName)
    const onKey = conflict.size === keys.length && keys.every((k) => conflict.has(k))
    const pks = sets.map((v) => pkOf(md, v))
    if (!onKey || pks.some((pk) => pk === undefined))
      return { before: [{ table, kind: 'bulk', verb: 'update', changed: written }] }
    return {
      before: pks.map((pk, i) => ({
        table,
        kind: 'update',
        pk: pk!,
        after: imageOf(md, sets[i])!,
        changed: written,
      })),
    }
  }
  const facts = (pks: readonly (PrimaryKey | undefined)[]): WriteFact[] =>
    pks.every((pk) => pk !== undefined)
      ? pks.map((pk, i) => ({ table, kind: 'insert', pk: pk!, after: imageOf(md, sets[i])! }))
      : bulk
  const generated = md.primaryColumns.some(
    (c) => c.isGenerated && !CLIENT_KEYS.has(String(c.generationStrategy)),
  )
  if (!generated) return { before: facts(sets.map((v) => pkOf(md, v))) }
  return {
    after(result) {
      const ids = (result as { identifiers?: (ObjectLiteral | undefined)[] } | undefined)?.identifiers
      // Without RETURNING (SQLite, MySQL) a multi-row insert reports one last-insert id for every row.
      const reliable = dataSourceOf(qb).driver.isReturningSqlSupported('insert') || sets.length === 1
      return Array.isArray(ids) && ids.length === sets.length && reliable
        ? facts(ids.map((id) => pkOf(md, id)))
        : bulk
    },
  }
}

function plan(qb: QueryBuilderLike, kind: Kind): Plan | undefined {
  const where = target(qb)
  if (!where) return undefined
  const { table, md } = where
  const em = qb.expressionMap
  const verb = kind === 'insert' || kind === 'restore' ? 'insert' : kind === 'update' ? 'update' : 'delete'
  if (!md) return { before: [{ table, kind: 'bulk', verb }] }
  if (kind === 'insert') return insertPlan(qb, table, md)
  const rows = keysOf(md, filterOf(qb))
  if (kind === 'update') {
    const values = Array.isArray(em.valuesSet) ? em.valuesSet[0] : em.valuesSet
    const changed = changedOf(md, values)
    const after = imageOf(md, values) ?? {}
    const bulk: Plan = { before: [{ table, kind: 'bulk', verb, changed }] }
    if (!rows) return bulk
    if (!md.primaryColumns.some((c) => changed.includes(c.propertyPath)))
      return { before: rows.map((pk) => ({ table, kind: 'update', pk, after, changed })) }
    // A key rewrite is followed only for one row whose new key the SET spells out.
    const newPk = rows.length === 1 ? pkOf(md, { ...keyImage(md, rows[0]!), ...values }) : undefined
    return newPk === undefined
      ? bulk
      : { before: [{ table, kind: 'update', pk: rows[0]!, newPk, after, changed }] }
  }
  if (!rows) return { before: [{ table, kind: 'bulk', verb }] }
  if (kind === 'restore') return { before: rows.map((pk) => ({ table, kind: 'insert', pk })) }
  return { before: rows.map((pk) => ({ table, kind: 'delete', pk, before: keyImage(md, pk) })) }
}

async function hooked(
  qb: QueryBuilderLike,
  execute: Method,
  kind: Kind,
  bindings: TypeORMBinding[],
): Promise<unknown> {
  let p: Plan | undefined
  try {
    p = plan(qb, kind)
  } catch (error) {
    for (const b of bindings) b.report('write', error)
    const t = target(qb)
    p = t ? { before: [{ table: t.table, kind: 'bulk', verb: 'unknown' }] } : undefined
  }
  const run = () => writeContext.run(QUERY_BUILDER, () => execute.call(qb))
  if (!p) return run()
  // A builder without a runner of its own runs on a fresh connection (autocommit), or on the one
  // shared connection of SQLite drivers, which may be inside someone's transaction.
  const runner = runnerOf(dataSourceOf(qb), qb.queryRunner)
  const inTransaction = runner?.isTransactionActive === true
  if (p.before && !inTransaction) {
    const facts = p.before
    return bindings.reduce<() => Promise<unknown>>((inner, b) => () => b.autocommit(facts, inner), run)()
  }
  const result = await run()
  let facts: WriteFact[]
  try {
    facts = p.before ?? p.after!(result)
  } catch (error) {
    for (const b of bindings) b.report('write', error)
    facts = [{ table: target(qb)!.table, kind: 'bulk', verb: 'unknown' }]
  }
  await Promise.all(bindings.map((b) => b.record(runner, facts, inTransaction)))
  return result
}

const patched = new WeakSet<object>()

/** Patches the write builders of the TypeORM copy `select` comes from (once per copy). */
export function installWriteHooks(select: object): void {
  const registry = (select.constructor as { queryBuilderRegistry?: Record<string, (qb: unknown) => object> })
    .queryBuilderRegistry
  const builders: [string, Kind][] = [
    ['InsertQueryBuilder', 'insert'],
    ['UpdateQueryBuilder', 'update'],
    ['DeleteQueryBuilder', 'delete'],
    ['SoftDeleteQueryBuilder', 'soft-delete'],
  ]
  for (const [name, fallback] of builders) {
    const factory = registry?.[name]
    if (typeof factory !== 'function')
      throw new TypeError(`TypeORM ${name} not found (unsupported TypeORM version)`)
    const proto = Object.getPrototypeOf(factory(select)) as object
    if (patched.has(proto)) continue
    patched.add(proto)
    if (fallback !== 'insert') trackWheres(proto, false)
    patch(
      proto,
      'execute',
      (execute) =>
        function (this: QueryBuilderLike) {
          const bindings = bindingsOf(dataSourceOf(this))
          if (bindings.length === 0) return execute.call(this)
          // Persistence runs its own builders with listeners off and reports the rows through events.
          if (this.expressionMap.callListeners === false && writeContext.getStore()?.persistence)
            return execute.call(this)
          const type = this.expressionMap.queryType
          return hooked(
            this,
            execute,
            type === 'restore' || type === 'soft-delete' ? type : fallback,
            bindings,
          )
        },
    )
  }
}
