import type { PrimaryKey, RowImage } from '@freshkey/core'
import { canonicalPk, type WriteFact } from '@freshkey/core/adapter'
import {
  type AnyEntity,
  type ChangeSet,
  type EntityMetadata,
  type EntityProperty,
  type MetadataStorage,
  ReferenceKind,
  type UnitOfWork,
  Utils,
} from '@mikro-orm/core'
import { keyValue, pinnedKeys, pkOf, pkOfEntity } from './conditions.ts'
import { ownsKey, pivotOf, tableOf } from './schema.ts'

type Row = Record<string, unknown>

const plainValue = (v: unknown) =>
  v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v) || v instanceof Date
    ? v
    : undefined

/**
 * A row image keyed by property names: the scalar columns and foreign keys the object holds
 * (undefined: not loaded, left out). Values that are not plain (raw SQL, JSON) are left out too:
 * a scope on them is bumped as a whole instead.
 */
export function imageOf(meta: EntityMetadata, source: Row): RowImage {
  const out: Row = {}
  for (const prop of meta.props as EntityProperty[]) {
    if (prop.persist === false || !Object.hasOwn(source, prop.name)) continue
    const raw = source[prop.name]
    const v =
      prop.kind === ReferenceKind.SCALAR
        ? plainValue(raw)
        : ownsKey(prop)
          ? raw === null
            ? null
            : keyValue(raw)
          : undefined
    if (v !== undefined) out[prop.name] = v
  }
  return out
}

const bulk = (
  table: string,
  verb: 'insert' | 'update' | 'delete' | 'unknown',
  changed?: string[],
): WriteFact => ({
  table,
  kind: 'bulk',
  verb,
  ...(changed ? { changed } : {}),
})

const KIND: Record<string, 'insert' | 'update' | 'delete'> = {
  create: 'insert',
  update: 'update',
  update_early: 'update',
  delete: 'delete',
  delete_early: 'delete',
}

function changeSetFact(cs: ChangeSet<AnyEntity>, meta: EntityMetadata, table: string): WriteFact | undefined {
  const kind = KIND[cs.type]
  if (!kind) return undefined
  const entity = cs.entity as Row
  const before = (cs.originalEntity as Row | undefined) ?? {}
  const pk = kind === 'insert' ? pkOf(meta, entity) : pkOf(meta, before, entity)
  const unknown = kind === 'insert' ? 'insert' : kind === 'delete' ? 'delete' : 'update'
  if (pk === undefined) return bulk(table, unknown)
  if (kind === 'delete') return { table, kind, pk }
  const after = imageOf(meta, entity)
  if (kind === 'insert') return { table, kind, pk, after }
  const newPk = pkOf(meta, entity)
  const moved = newPk !== undefined && canonicalPk(newPk) !== canonicalPk(pk)
  return { table, kind, pk, after, changed: Object.keys(cs.payload ?? {}), ...(moved ? { newPk } : {}) }
}

/** Pivot tables a flush writes (`uow.getCollectionUpdates()`, gone by `afterFlush`). */
export function pivotTables(metadata: MetadataStorage, uow: UnitOfWork): string[] {
  const out = new Set<string>()
  for (const coll of uow.getCollectionUpdates()) {
    const table = coll.property && pivotOf(metadata, coll.property)
    if (table) out.add(table)
  }
  return [...out]
}

/** The write facts of a flush: one per change set (and per table-per-type table), plus its pivot tables. */
export function flushFacts(uow: UnitOfWork, pivots: readonly string[]): WriteFact[] {
  const out: WriteFact[] = []
  for (const cs of uow.getChangeSets()) {
    const table = tableOf(cs.meta)
    if (table === undefined) continue
    const fact = changeSetFact(cs, cs.meta, table)
    if (fact) out.push(fact)
    for (const tpt of (cs as { tptChangeSets?: ChangeSet<AnyEntity>[] }).tptChangeSets ?? []) {
      const t = tableOf(tpt.meta)
      const f =
        t !== undefined && t !== table
          ? changeSetFact({ ...tpt, type: cs.type, entity: cs.entity } as never, tpt.meta, t)
          : undefined
      if (f) out.push(f)
    }
  }
  for (const table of pivots) out.push(bulk(table, 'unknown'))
  return out
}

/** `em.nativeUpdate(entity, where, data)`: one update per pinned key, else a bulk update of the fields it sets. */
export function nativeUpdateFacts(
  meta: EntityMetadata,
  where: unknown,
  data: Row,
  alias?: string,
): WriteFact[] {
  const table = tableOf(meta)
  if (table === undefined) return []
  const changed = Object.keys(data ?? {})
  const keys = pinnedKeys(meta, where, alias)
  const movesKey = meta.primaryKeys.some((p) => changed.includes(p))
  const newPk = movesKey ? pkOf(meta, data) : undefined
  if (!keys || (movesKey && (keys.length !== 1 || newPk === undefined)))
    return [bulk(table, 'update', changed)]
  const after = imageOf(meta, data ?? {})
  return keys.map((pk) => ({
    table,
    kind: 'update',
    pk,
    after,
    changed,
    ...(newPk !== undefined ? { newPk } : {}),
  }))
}

/** `em.nativeDelete(entity, where)`: one delete per pinned key, else a bulk delete. */
export function nativeDeleteFacts(meta: EntityMetadata, where: unknown, alias?: string): WriteFact[] {
  const table = tableOf(meta)
  if (table === undefined) return []
  const keys = pinnedKeys(meta, where, alias)
  return keys ? keys.map((pk) => ({ table, kind: 'delete', pk })) : [bulk(table, 'delete')]
}

/**
 * Rows written by `em.insert`, `insertMany`, `clone` or `upsert` (kind `update`: the row may have
 * existed): keys from the entities, the data or the returned ids; a row without a known key makes
 * the write bulk.
 */
export function insertFacts(
  meta: EntityMetadata,
  rows: readonly unknown[],
  results: readonly unknown[],
  kind: 'insert' | 'update' = 'insert',
): WriteFact[] {
  const table = tableOf(meta)
  if (table === undefined) return []
  const out: WriteFact[] = []
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    const entity = Utils.isEntity(row, true)
    let pk: PrimaryKey | undefined = entity
      ? pkOfEntity(row as object)
      : Utils.isPlainObject(row)
        ? pkOf(meta, row as object)
        : undefined
    if (pk === undefined && meta.primaryKeys.length === 1)
      pk = keyValue(results[i]) ?? keyValue((results[i] as Row | undefined)?.[meta.primaryKeys[0]!])
    if (pk === undefined) return [bulk(table, kind === 'insert' ? 'insert' : 'unknown')]
    const after = imageOf(meta, (entity ? row : Utils.isPlainObject(row) ? row : {}) as Row)
    out.push({ table, kind, pk, after } as WriteFact)
  }
  return out
}

interface QueryBuilderLike {
  readonly type?: string
  readonly alias?: string
  /** `meta` in MikroORM 7, `metadata` in 6. */
  readonly mainAlias?: { meta?: EntityMetadata; metadata?: EntityMetadata }
  readonly state?: { cond?: unknown; data?: unknown; onConflict?: unknown }
  readonly _cond?: unknown
  readonly _data?: unknown
  readonly _onConflict?: unknown
}

/** What a QueryBuilder write changed: rows when its condition pins keys, else its table in bulk. */
export function queryBuilderFacts(qb: QueryBuilderLike, tables: () => string[]): WriteFact[] {
  const type = qb.type
  if (!type || !['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'UPSERT'].includes(type)) return []
  const meta = qb.mainAlias?.meta ?? qb.mainAlias?.metadata
  const table = tableOf(meta)
  if (!meta || table === undefined) return tables().map((t) => bulk(t, 'unknown'))
  // MikroORM 7 keeps the query parts in `state`, 6 in underscored fields.
  const cond = qb.state ? qb.state.cond : qb._cond
  const data = qb.state ? qb.state.data : qb._data
  const props = (d: unknown): Row | undefined => {
    if (!Utils.isPlainObject(d)) return undefined
    const out: Row = {}
    for (const [column, value] of Object.entries(d as Row)) {
      const prop = Object.hasOwn(meta.properties, column)
        ? column
        : (Object.values(meta.properties) as EntityProperty[]).find((p) => p.fieldNames?.includes(column))
            ?.name
      if (prop === undefined) return undefined
      out[prop] = value
    }
    return out
  }
  switch (type) {
    case 'UPDATE': {
      const d = props(data)
      return d ? nativeUpdateFacts(meta, cond, d, qb.alias) : [bulk(table, 'update')]
    }
    case 'DELETE':
      return nativeDeleteFacts(meta, cond, qb.alias)
    case 'TRUNCATE':
      return [{ table, kind: 'bulk', verb: 'truncate' }]
    default: {
      const rows = (Array.isArray(data) ? data : [data]).map(props)
      if (rows.some((r) => r === undefined)) return [bulk(table, 'unknown')]
      const upsert = type === 'UPSERT' || (qb.state ? qb.state.onConflict : qb._onConflict)
      return insertFacts(meta, rows, [], upsert ? 'update' : 'insert')
    }
  }
}
