import { type Change, canonicalPk, type PrimaryKey, type RowImage } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import type { TypeORMAdapter } from './adapter.ts'
import type { InsertResultLike, WriteQueryBuilder } from './internals.ts'
import { imageOf, pkOf, writtenPaths } from './row-image.ts'
import type { RowHint } from './where-rows.ts'

/** Which builder: `delete`, `update`, `insert`, `soft-delete` or `restore`. */
export type WriteKind = 'insert' | 'update' | 'delete' | 'soft-delete' | 'restore'

/** What a write query builder is about to do, worked out before it runs. */
export interface WritePlan {
  readonly kind: WriteKind
  readonly table: string
  readonly metadata: EntityMetadata | undefined
  /** Keys of the rows written, when the WHERE (or the inserted values) name them. */
  readonly rows: readonly PrimaryKey[] | undefined
  /** Property paths an update writes. */
  readonly changed: readonly string[]
  /** Values an update writes (plain values only). */
  readonly after: RowImage | undefined
  /** Inserted value sets, when their keys must be read from the result. */
  readonly valueSets: readonly ObjectLiteral[] | undefined
  readonly upsert: boolean
}

function tableOf(qb: WriteQueryBuilder): { table: string; metadata: EntityMetadata | undefined } | undefined {
  const alias = qb.expressionMap.mainAlias
  if (!alias) return undefined
  if (alias.hasMetadata) return { table: alias.metadata.tableName, metadata: alias.metadata }
  const path = alias.tablePath
  if (!path) return undefined
  const parts = path.split('.')
  return { table: parts[parts.length - 1]!.replace(/^["`[]|["`\]]$/g, ''), metadata: undefined }
}

const CLIENT_KEYS = new Set(['uuid'])

/** Keys of inserted rows that the caller gave and TypeORM keeps (not database-generated). */
function givenKeys(metadata: EntityMetadata, valueSets: readonly ObjectLiteral[]): PrimaryKey[] | undefined {
  if (metadata.primaryColumns.some((c) => c.isGenerated && !CLIENT_KEYS.has(String(c.generationStrategy))))
    return undefined
  const keys = valueSets.map((v) => pkOf(metadata, v))
  return keys.every((k) => k !== undefined) ? (keys as PrimaryKey[]) : undefined
}

/** An upsert identifies rows by its conflict target; only a primary-key target names the row written. */
function conflictOnKey(metadata: EntityMetadata, conflict: string | string[] | undefined): boolean {
  const target = new Set(Array.isArray(conflict) ? conflict : conflict ? [conflict] : [])
  const keys = metadata.primaryColumns.map((c) => c.databaseName)
  return target.size === keys.length && keys.every((k) => target.has(k))
}

export function planWrite(
  qb: WriteQueryBuilder,
  kind: WriteKind,
  hint: RowHint | undefined,
): WritePlan | undefined {
  const where = tableOf(qb)
  if (!where) return undefined
  const { table, metadata } = where
  const em = qb.expressionMap
  const base = {
    kind,
    table,
    metadata,
    rows: undefined,
    changed: [],
    after: undefined,
    valueSets: undefined,
    upsert: false,
  }
  if (!metadata) return base
  if (kind === 'insert') {
    if (em.insertFromSelect) return base
    let valueSets: ObjectLiteral[]
    try {
      valueSets = qb.getValueSets?.() ?? []
    } catch {
      return base
    }
    const upsert = em.onUpdate !== undefined && Object.keys(em.onUpdate).length > 0
    if (upsert && !conflictOnKey(metadata, em.onUpdate?.conflict)) return { ...base, upsert }
    return { ...base, upsert, rows: givenKeys(metadata, valueSets), valueSets }
  }
  const rows = typeof hint === 'object' ? hint.rows : undefined
  if (kind !== 'update') return { ...base, rows }
  const values = Array.isArray(em.valuesSet) ? em.valuesSet[0] : em.valuesSet
  const changed = writtenPaths(metadata, values)
  // An update that rewrites the key moves rows to keys we do not know.
  const movesKey = metadata.primaryColumns.some((c) => changed.includes(c.propertyPath))
  return { ...base, rows: movesKey ? undefined : rows, changed, after: imageOf(metadata, values) }
}

/** Keys of inserted rows: given, or read back from the result where the driver reports them reliably. */
function insertedKeys(
  adapter: TypeORMAdapter,
  plan: WritePlan,
  result: unknown,
): readonly PrimaryKey[] | undefined {
  if (plan.rows) return plan.rows
  const md = plan.metadata
  const sets = plan.valueSets
  const ids = (result as InsertResultLike | undefined)?.identifiers
  if (!md || !sets || !Array.isArray(ids) || ids.length !== sets.length) return undefined
  // Without RETURNING (SQLite, MySQL) a multi-row insert reports one last-insert id for every row.
  const returning = adapter.dataSource.driver.isReturningSqlSupported('insert')
  if (!returning && sets.length > 1) return undefined
  const keys = ids.map((id) => pkOf(md, id))
  return keys.every((k) => k !== undefined) ? (keys as PrimaryKey[]) : undefined
}

/** The changes of a finished write; `before` holds images read inside the transaction, by canonical key. */
export function writeChanges(
  adapter: TypeORMAdapter,
  plan: WritePlan,
  result: unknown,
  before?: ReadonlyMap<string, RowImage>,
): Change[] {
  const { table, kind } = plan
  const out: Change[] = []
  // Rows the database changes by itself: ON DELETE actions, and ON UPDATE actions following a written column.
  const cascades =
    kind === 'delete'
      ? adapter.deleteCascades(table)
      : kind === 'update'
        ? adapter.cascades.onUpdateOf(table, plan.changed).map((t) => ({ table: t, kind: 'bulk' as const }))
        : []
  const beforeOf = (pk: PrimaryKey) => before?.get(canonicalPk(pk))
  if (kind === 'insert') {
    const keys = insertedKeys(adapter, plan, result)
    if (!keys) return [{ table, kind: 'bulk' }]
    keys.forEach((pk, i) => {
      const after = plan.metadata && plan.valueSets ? imageOf(plan.metadata, plan.valueSets[i]!) : undefined
      out.push(plan.upsert ? { table, kind: 'update', pk, after } : { table, kind: 'insert', pk, after })
    })
    return out
  }
  if (!plan.rows) return [{ table, kind: 'bulk' }, ...cascades]
  for (const pk of plan.rows) {
    const b = beforeOf(pk)
    if (kind === 'update')
      out.push({ table, kind: 'update', pk, before: b, after: plan.after, changed: plan.changed })
    else if (kind === 'restore') out.push({ table, kind: 'insert', pk })
    else out.push({ table, kind: 'delete', pk, before: b })
  }
  return [...out, ...cascades]
}
