import type { PrimaryKey } from '@freshkey/core'
import { AdapterSetupError, type WriteFact } from '@freshkey/core/adapter'
import type { EntityMetadata } from 'typeorm'
import { bindingsOf, type TypeORMBinding } from './binding.ts'
import { filterOf, keysOf, trackWheres } from './filters.ts'
import { around, firstPatch, type Method, type QB, runnerOf, writeContext } from './internals.ts'
import { type ReturnedImages, returnedImages } from './returned-images.ts'
import { imageOf, keyImage, pkOf, writtenPaths } from './row-image.ts'

// Write builders (repository.update/delete/insert/upsert/..., QueryBuilder and RelationQueryBuilder
// writes) carry what their events do not: the WHERE, so `update(id, …)` names its row. Rows known
// before an autocommit statement runs go through `binding.autocommit`; the rest are recorded after.

type Kind = 'insert' | 'update' | 'delete' | 'soft-delete' | 'restore'
/** Facts known before the statement runs, or worked out from its result. */
type Plan = { before: WriteFact[] } | { after: (result: unknown) => WriteFact[] }

const CLIENT_KEYS = new Set(['uuid'])
/** The write context of a builder's statement (read only, so one object serves every statement). */
const BUILDER = Object.freeze({ queryBuilder: true })

function target(qb: QB): { table: string; md?: EntityMetadata } | undefined {
  const alias = qb.expressionMap.mainAlias
  if (alias?.hasMetadata) return { table: alias.metadata.tableName, md: alias.metadata }
  const last = alias?.tablePath?.split('.').pop()
  return last ? { table: last.replace(/^["`[]|["`\]]$/g, '') } : undefined
}

function insertPlan(qb: QB, table: string, md: EntityMetadata): Plan {
  const em = qb.expressionMap
  const bulk: WriteFact[] = [{ table, kind: 'bulk', verb: 'insert' }]
  const sets = em.insertFromSelect ? undefined : qb.getValueSets?.()
  if (!sets) return { before: bulk }
  const facts = (pks: (PrimaryKey | undefined)[]): WriteFact[] =>
    pks.every((pk) => pk !== undefined)
      ? pks.map((pk, i) => ({ table, kind: 'insert', pk, after: imageOf(md, sets[i])! }))
      : bulk
  if (em.onUpdate && Object.keys(em.onUpdate).length > 0) {
    // An upsert names its row only when its conflict target is the primary key.
    const changed = [...new Set(sets.flatMap((v) => writtenPaths(md, v)))]
    const conflict = String([em.onUpdate.conflict ?? []].flat().sort())
    const pks = sets.map((v) => pkOf(md, v))
    const keys = md.primaryColumns.map((c) => c.databaseName)
    if (conflict !== String(keys.sort()) || pks.includes(undefined))
      return { before: [{ table, kind: 'bulk', verb: 'update', changed }] }
    const after = (i: number) => imageOf(md, sets[i])!
    return { before: pks.map((pk, i) => ({ table, kind: 'update', pk: pk!, after: after(i), changed })) }
  }
  if (!md.primaryColumns.some((c) => c.isGenerated && !CLIENT_KEYS.has(String(c.generationStrategy))))
    return { before: facts(sets.map((v) => pkOf(md, v))) }
  return {
    after(result) {
      const ids = (result as { identifiers?: unknown[] } | undefined)?.identifiers
      // Without RETURNING (SQLite, MySQL) a multi-row insert reports one last-insert id for every row.
      const reliable = qb.connection.driver.isReturningSqlSupported('insert') || sets.length === 1
      return Array.isArray(ids) && ids.length === sets.length && reliable
        ? facts(ids.map((id) => pkOf(md, id)))
        : bulk
    },
  }
}

function plan(qb: QB, kind: Kind): Plan | undefined {
  const t = target(qb)
  if (!t) return undefined
  const { table, md } = t
  const verb = kind === 'insert' || kind === 'restore' ? 'insert' : kind === 'update' ? 'update' : 'delete'
  if (!md) return { before: [{ table, kind: 'bulk', verb }] }
  if (kind === 'insert') return insertPlan(qb, table, md)
  const rows = keysOf(md, filterOf(qb))
  if (kind !== 'update') {
    if (!rows) return { before: [{ table, kind: 'bulk', verb }] }
    if (kind === 'restore') return { before: rows.map((pk) => ({ table, kind: 'insert', pk })) }
    return { before: rows.map((pk) => ({ table, kind: 'delete', pk, before: keyImage(md, pk) })) }
  }
  const values = [qb.expressionMap.valuesSet].flat()[0]
  const changed = writtenPaths(md, values)
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

async function hooked(qb: QB, execute: Method, kind: Kind, bindings: TypeORMBinding[]) {
  let p: Plan | undefined
  try {
    p = plan(qb, kind)
  } catch (error) {
    for (const b of bindings) b.report('write', error)
    const t = target(qb)
    p = t && { before: [{ table: t.table, kind: 'bulk', verb: 'unknown' }] }
  }
  const run = () => writeContext.run(BUILDER, () => execute.call(qb))
  // Without a runner of its own a builder runs on a fresh connection (autocommit), or on the one
  // shared connection of SQLite drivers, which may be inside someone's transaction.
  const runner = runnerOf(qb.connection, qb.queryRunner)
  const inTransaction = runner?.isTransactionActive === true
  if (!p) return run()
  if ('before' in p && !inTransaction) {
    const facts = p.before
    const images = kind === 'update' ? returning(qb, facts, bindings) : undefined
    return bindings.reduce<() => Promise<unknown>>(
      (inner, b) => () => b.autocommit(facts, inner, images?.facts),
      images ? images.run(run) : run,
    )()
  }
  const result = await run()
  let facts: WriteFact[]
  try {
    facts = 'before' in p ? p.before : p.after(result)
  } catch (error) {
    for (const b of bindings) b.report('write', error)
    facts = [{ table: target(qb)!.table, kind: 'bulk', verb: 'unknown' }]
  }
  await Promise.all(bindings.map((b) => b.record(runner, facts, inTransaction)))
  return result
}

function returning(
  qb: QB,
  facts: readonly WriteFact[],
  bindings: TypeORMBinding[],
): ReturnedImages | undefined {
  try {
    return returnedImages(qb, facts, bindings)
  } catch (error) {
    for (const b of bindings) b.report('write', error)
    return undefined
  }
}

const BUILDERS = {
  InsertQueryBuilder: 'insert',
  UpdateQueryBuilder: 'update',
  DeleteQueryBuilder: 'delete',
} as const

/** Patches the write builders of the TypeORM copy `select` comes from (once per copy). */
export function installWriteHooks(select: object): void {
  const registry = (select.constructor as { queryBuilderRegistry?: Record<string, (qb: unknown) => object> })
    .queryBuilderRegistry
  for (const [name, fallback] of Object.entries({
    ...BUILDERS,
    SoftDeleteQueryBuilder: 'soft-delete' as const,
  })) {
    const factory = registry?.[name]
    if (typeof factory !== 'function')
      throw new AdapterSetupError('typeorm', `${name} not found (unsupported TypeORM version)`)
    const proto = Object.getPrototypeOf(factory(select)) as object
    if (!firstPatch(proto)) continue
    if (fallback !== 'insert') trackWheres(proto, false)
    around(proto, 'execute', function (this: QB, execute, args) {
      const bindings = bindingsOf(this.connection)
      // Persistence runs its own builders with listeners off and reports the rows through events.
      const persisting = this.expressionMap.callListeners === false && writeContext.getStore()?.persistence
      if (bindings.length === 0 || persisting) return execute.apply(this, args)
      const type = this.expressionMap.queryType
      return hooked(this, execute, type === 'restore' || type === 'soft-delete' ? type : fallback, bindings)
    })
  }
}
