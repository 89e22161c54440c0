import type { Change, PrimaryKey } from '@freshkey/core'
import { type EntityMetadata, Utils } from '@mikro-orm/core'
import { keyValue, pinnedKeys, pkOf, pkOfEntity } from './conditions.ts'
import { dependents } from './flush-capture.ts'
import { type TableGraph, tableOfMeta } from './table-graph.ts'

type Row = Record<string, unknown>

const WRITE_TYPES = new Set(['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'UPSERT'])

/** A row image with entities and references replaced by their keys (scope values must be plain). */
function plain(row: Row): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(row)) out[k] = Utils.isEntity(v, true) ? (keyValue(v) ?? v) : v
  return out
}

function touchesKey(meta: EntityMetadata, fields: readonly string[]): boolean {
  return (meta.primaryKeys as string[]).some((p) => fields.includes(p))
}

/** `em.nativeUpdate(entity, where, data)`: one update per pinned key, else bulk. */
export function nativeUpdateChanges(
  graph: TableGraph,
  meta: EntityMetadata,
  where: unknown,
  data: Row,
  alias?: string,
): Change[] {
  const table = tableOfMeta(meta)
  if (table === undefined) return []
  const changed = Object.keys(data ?? {})
  const keys = touchesKey(meta, changed) ? undefined : pinnedKeys(meta, where, alias)
  if (!keys)
    return [{ table, kind: 'bulk' }, ...(touchesKey(meta, changed) ? dependents(graph, meta, 'update') : [])]
  const after = plain(data)
  return keys.map((pk) => ({ table, kind: 'update', pk, after, changed }))
}

/** `em.nativeDelete(entity, where)`: one delete per pinned key, else bulk; plus foreign key cascades. */
export function nativeDeleteChanges(
  graph: TableGraph,
  meta: EntityMetadata,
  where: unknown,
  alias?: string,
): Change[] {
  const table = tableOfMeta(meta)
  if (table === undefined) return []
  const keys = pinnedKeys(meta, where, alias)
  const rows: Change[] = keys ? keys.map((pk) => ({ table, kind: 'delete', pk })) : [{ table, kind: 'bulk' }]
  return [...rows, ...dependents(graph, meta, 'delete')]
}

/**
 * Inserted rows (`em.insert`, `insertMany`, `clone`): keys from the entities, the data or the
 * returned ids; any row without a known key makes the whole write bulk.
 */
export function insertChanges(
  meta: EntityMetadata,
  rows: readonly unknown[],
  results: readonly unknown[],
  kind: 'insert' | 'update' = 'insert',
): Change[] {
  const table = tableOfMeta(meta)
  if (table === undefined) return []
  const out: Change[] = []
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    let pk: PrimaryKey | undefined
    if (Utils.isEntity(row, true)) pk = pkOfEntity(row as object)
    else if (row !== null && typeof row === 'object') pk = pkOf(meta, row)
    if (pk === undefined && meta.primaryKeys.length === 1) pk = keyValue(results[i])
    if (pk === undefined) return [{ table, kind: 'bulk' }]
    const after =
      row !== null && typeof row === 'object' && !Utils.isEntity(row, true) ? plain(row as Row) : undefined
    out.push(kind === 'insert' ? { table, kind, pk, after } : { table, kind, pk })
  }
  return out
}

interface QueryBuilderLike {
  readonly type: string
  readonly alias?: string
  readonly mainAlias?: { meta?: EntityMetadata }
  readonly state?: { cond?: unknown; data?: unknown; onConflict?: unknown }
}

/** What a QueryBuilder write changed: rows when its condition pins keys, else bulk. */
export function queryBuilderChanges(graph: TableGraph, qb: QueryBuilderLike): Change[] {
  if (!WRITE_TYPES.has(qb.type)) return []
  const meta = qb.mainAlias?.meta
  const table = meta && tableOfMeta(meta)
  if (!meta || table === undefined) return [...graph.tables()].map((t) => ({ table: t, kind: 'bulk' }))
  const state = qb.state ?? {}
  const toProps = (data: unknown): Row | undefined => {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined
    const out: Row = {}
    for (const [column, value] of Object.entries(data)) {
      const prop = graph.propertyOfColumn(meta, column)
      if (prop === undefined) return undefined
      out[prop] = value
    }
    return out
  }
  switch (qb.type) {
    case 'UPDATE': {
      const data = toProps(state.data)
      if (!data) return [{ table, kind: 'bulk' }, ...dependents(graph, meta, 'update')]
      return nativeUpdateChanges(graph, meta, state.cond, data, qb.alias)
    }
    case 'DELETE':
      return nativeDeleteChanges(graph, meta, state.cond, qb.alias)
    case 'TRUNCATE':
      return [{ table, kind: 'bulk' }, ...dependents(graph, meta, 'delete')]
    default: {
      const rows = (Array.isArray(state.data) ? state.data : [state.data]).map(toProps)
      if (rows.some((r) => r === undefined)) return [{ table, kind: 'bulk' }]
      return insertChanges(meta, rows, [], qb.type === 'UPSERT' || state.onConflict ? 'update' : 'insert')
    }
  }
}

/** Bulk changes for tables a raw statement wrote, plus their foreign key cascades. */
export function rawChanges(graph: TableGraph, tables: readonly string[]): Change[] {
  const out = new Map<string, Change>()
  for (const table of tables) {
    out.set(table, { table, kind: 'bulk' })
    const meta = graph.metaOfTable(table)
    if (meta) for (const d of dependents(graph, meta, 'delete')) out.set(d.table, d)
  }
  return [...out.values()]
}
