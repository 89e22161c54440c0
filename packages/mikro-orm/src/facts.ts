import type { RowImage } from '@freshkey/core'
import { bulkFact, bulkFacts, type WriteFact } from '@freshkey/core/adapter'
import type * as M from '@mikro-orm/core'
import { Utils } from '@mikro-orm/core'
import type { Row } from './metadata.ts'
import { keyValue, ownsKey, pinnedKeys, pivotOf, pkOf, pkOfEntity, plain, tableOf } from './metadata.ts'

type Meta = M.EntityMetadata

/**
 * A row image keyed by property names: the scalar columns and foreign keys the object holds. Values
 * not loaded or not plain (raw SQL, JSON) are left out: a scheme on them is then bumped as a whole.
 */
export function imageOf(meta: Meta, source: Row): RowImage {
  const out: Row = {}
  for (const prop of meta.props) {
    const raw = prop.persist === false ? undefined : source[prop.name]
    const fk = ownsKey(prop) ? (raw === null ? null : keyValue(raw)) : undefined
    const v = prop.kind === 'scalar' ? (plain(raw) ? raw : undefined) : fk
    if (v !== undefined) out[prop.name] = v
  }
  return out
}

type ChangeSet = M.ChangeSet<M.AnyEntity> & { tptChangeSets?: ChangeSet[] }
const KIND: Row = { create: 'insert', update: 'update', delete: 'delete' }

function changeSetFact(cs: ChangeSet, part: ChangeSet): WriteFact | undefined {
  const [meta, entity, before] = [part.meta, cs.entity as Row, (cs.originalEntity ?? {}) as Row]
  const kind = KIND[cs.type.replace('_early', '')] as 'insert' | 'update' | 'delete' | undefined
  const table = tableOf(meta)
  if (!kind || table === undefined) return undefined
  const pk = kind === 'insert' ? pkOf(meta, entity) : pkOf(meta, before, entity)
  const after = imageOf(meta, entity)
  if (pk === undefined) return bulkFact(table, kind)
  if (kind !== 'update') return kind === 'delete' ? { table, kind, pk } : { table, kind, pk, after }
  return { table, kind, pk, after, changed: Object.keys(part.payload ?? {}), newPk: pkOf(meta, entity) }
}

/** Pivot tables a flush writes (`uow.getCollectionUpdates()`, gone by `afterFlush`). */
export const pivotTables = (uow: M.UnitOfWork): string[] => [
  ...new Set(uow.getCollectionUpdates().flatMap((c) => (c.property && pivotOf(c.property)) || [])),
]

/** The write facts of a flush: one per change set (and per table-per-type table), plus its pivot tables in bulk. */
export function flushFacts(uow: M.UnitOfWork, pivots: readonly string[]): WriteFact[] {
  const out = bulkFacts(pivots)
  for (const cs of uow.getChangeSets() as ChangeSet[]) {
    const parts = [cs, ...(cs.tptChangeSets ?? []).filter((p) => tableOf(p.meta) !== tableOf(cs.meta))]
    for (const part of parts) {
      const fact = changeSetFact(cs, part)
      if (fact) out.push(fact)
    }
  }
  return out
}

/** `em.nativeUpdate(entity, where, data)`: one update per pinned key, else a bulk update of the fields it sets. */
export function nativeUpdateFacts(meta: Meta, where: unknown, data: Row, alias?: string): WriteFact[] {
  const table = tableOf(meta)
  const changed = Object.keys(data ?? {})
  const keys = pinnedKeys(meta, where, alias)
  const moves = meta.primaryKeys.some((p) => changed.includes(p))
  const newPk = moves ? pkOf(meta, data) : undefined
  const after = imageOf(meta, data ?? {})
  if (table === undefined) return []
  if (!keys || (moves && (newPk === undefined || keys.length !== 1)))
    return [bulkFact(table, 'update', changed)]
  return keys.map((pk) => ({ table, kind: 'update', pk, after, changed, newPk }))
}

/** `em.nativeDelete(entity, where)`: one delete per pinned key, else a bulk delete. */
export function nativeDeleteFacts(meta: Meta, where: unknown, alias?: string): WriteFact[] {
  const table = tableOf(meta)
  const keys = pinnedKeys(meta, where, alias)
  if (table === undefined) return []
  return keys ? keys.map((pk) => ({ table, kind: 'delete', pk })) : [bulkFact(table, 'delete')]
}

/**
 * Rows written by `em.insert`, `insertMany`, `clone` or upserts (kind `update`: the row may have
 * existed), keyed from the entities, the data or the returned ids; one without a key makes it bulk.
 */
export function insertFacts(
  meta: Meta,
  rows: readonly unknown[],
  results: readonly unknown[],
  kind: 'insert' | 'update' = 'insert',
): WriteFact[] {
  const table = tableOf(meta)
  const [single, ...composite] = meta.primaryKeys
  if (table === undefined) return []
  const facts = rows.map((row, i): WriteFact | undefined => {
    const source = (Utils.isEntity(row, true) || Utils.isPlainObject(row) ? row : {}) as Row
    const result = results[i] as Row | undefined
    const id = composite.length === 0 ? (keyValue(result) ?? keyValue(result?.[single!])) : undefined
    const pk = (Utils.isEntity(row, true) ? pkOfEntity(row) : pkOf(meta, source)) ?? id
    return pk === undefined ? undefined : { table, kind, pk, after: imageOf(meta, source) }
  })
  return facts.includes(undefined)
    ? [bulkFact(table, kind === 'insert' ? 'insert' : 'unknown')]
    : (facts as WriteFact[])
}

/** A QueryBuilder: MikroORM 7 keeps the query parts in `state` and the entity in `mainAlias.meta`, 6 in `_cond`… and `mainAlias.metadata`. */
export interface QueryBuilderLike {
  readonly type?: string
  readonly alias?: string
  readonly mainAlias?: { meta?: Meta; metadata?: Meta }
  readonly state?: { cond?: unknown; data?: unknown; onConflict?: unknown }
  readonly _cond?: unknown
  readonly _data?: unknown
  readonly _onConflict?: unknown
}

/** What a QueryBuilder write changed: rows when its condition pins keys, else its table in bulk. */
export function queryBuilderFacts(qb: QueryBuilderLike, meta: Meta, tables: Iterable<string>): WriteFact[] {
  const type = qb.type ?? ''
  const table = tableOf(meta)
  if (!['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'UPSERT'].includes(type)) return []
  if (table === undefined) return bulkFacts(tables)
  const { cond, data, onConflict } = qb.state ?? {
    cond: qb._cond,
    data: qb._data,
    onConflict: qb._onConflict,
  }
  const column = (c: string) =>
    meta.properties[c] ? c : meta.props.find((p) => p.fieldNames?.includes(c))?.name
  const props = (d: unknown) => {
    const named = Utils.isPlainObject(d)
      ? Object.entries(d).map(([c, v]) => [column(c), v] as const)
      : [[undefined]]
    return named.every(([p]) => p !== undefined) ? (Object.fromEntries(named) as Row) : undefined
  }
  const set = props(data)
  if (type === 'UPDATE')
    return set ? nativeUpdateFacts(meta, cond, set, qb.alias) : [bulkFact(table, 'update')]
  if (type === 'DELETE') return nativeDeleteFacts(meta, cond, qb.alias)
  if (type === 'TRUNCATE') return [bulkFact(table, 'truncate')]
  const rows = (Array.isArray(data) ? data : [data]).map(props)
  const kind = type === 'UPSERT' || onConflict ? 'update' : 'insert'
  return rows.includes(undefined) ? [bulkFact(table)] : insertFacts(meta, rows, [], kind)
}
