import type { Change, PrimaryKey } from '@freshkey/core'
import {
  type AnyEntity,
  type ChangeSet,
  type Collection,
  type EntityMetadata,
  ReferenceKind,
  type UnitOfWork,
} from '@mikro-orm/core'
import { pkOf } from './conditions.ts'
import { type TableGraph, tableOfMeta } from './table-graph.ts'

type Row = Record<string, unknown>

/** One change set as seen in `onFlush`, before the database write. */
export interface CapturedChangeSet {
  readonly kind: 'insert' | 'update' | 'delete'
  readonly meta: EntityMetadata
  readonly table: string
  /** Key before the write; undefined for inserts (autoincrement keys are known only afterwards). */
  readonly pk: PrimaryKey | undefined
  /** Identity map snapshot (property names, relations as keys). */
  readonly snapshot: Row | undefined
  readonly payload: Row
  readonly schema: string | undefined
  /** Scoped fields whose current values must be read inside the transaction. */
  readonly needsRead: boolean
  /** Before image read inside the transaction. */
  fresh?: Row
}

/** A flush between `onFlush` and `afterFlush`. */
export interface PendingFlush {
  readonly items: Map<ChangeSet<AnyEntity>, CapturedChangeSet>
  readonly pivots: Set<string>
  /** Whether the before images still have to be read once the flush's transaction starts. */
  awaitingTransaction: boolean
}

export type BeforeImageMode = 'read' | 'missing' | 'none'

const KIND: Record<string, CapturedChangeSet['kind']> = {
  create: 'insert',
  update: 'update',
  update_early: 'update',
  delete: 'delete',
  delete_early: 'delete',
}

/** Snapshots what `afterFlush` can no longer see: keys before a key change, images of deleted rows, pivot tables. */
export function captureFlush(
  uow: UnitOfWork,
  graph: TableGraph,
  scoped: (table: string) => readonly string[],
  mode: BeforeImageMode,
): PendingFlush {
  const items = new Map<ChangeSet<AnyEntity>, CapturedChangeSet>()
  for (const cs of uow.getChangeSets()) {
    const item = captureChangeSet(cs, scoped, mode)
    if (item) items.set(cs, item)
  }
  return { items, pivots: pivotTables(uow.getCollectionUpdates(), graph), awaitingTransaction: false }
}

function captureChangeSet(
  cs: ChangeSet<AnyEntity>,
  scoped: (table: string) => readonly string[],
  mode: BeforeImageMode,
): CapturedChangeSet | undefined {
  const kind = KIND[cs.type]
  const table = tableOfMeta(cs.meta)
  if (!kind || table === undefined) return undefined
  const entity = cs.entity as AnyEntity & { __helper?: { __originalEntityData?: Row } }
  const snapshot = (cs.originalEntity as Row | undefined) ?? entity.__helper?.__originalEntityData
  const payload = cs.payload as Row
  const pk = kind === 'insert' ? undefined : pkOf(cs.meta, snapshot ?? {}, normalizedKey(cs), entity)
  return {
    kind,
    meta: cs.meta,
    table,
    pk,
    snapshot,
    payload,
    schema: cs.schema,
    needsRead: needsRead(kind, scoped(table), snapshot, payload, mode),
  }
}

function normalizedKey(cs: ChangeSet<AnyEntity>): object {
  const key = cs.getPrimaryKey(true)
  return key !== null && typeof key === 'object' && !Array.isArray(key) ? key : {}
}

function needsRead(
  kind: CapturedChangeSet['kind'],
  fields: readonly string[],
  snapshot: Row | undefined,
  payload: Row,
  mode: BeforeImageMode,
): boolean {
  if (mode === 'none' || kind === 'insert' || fields.length === 0) return false
  // Scopes whose fields an update leaves alone are not bumped, so they need no before image.
  if (kind === 'update' && !fields.some((f) => Object.hasOwn(payload, f))) return false
  if (mode === 'read') return true
  return !snapshot || fields.some((f) => !Object.hasOwn(snapshot, f))
}

function pivotTables(collections: Collection<AnyEntity>[], graph: TableGraph): Set<string> {
  const out = new Set<string>()
  for (const coll of collections) {
    const prop = coll.property
    if (prop?.kind !== ReferenceKind.MANY_TO_MANY) continue
    const pivot = graph.meta(prop.pivotEntity)
    const table = (pivot && tableOfMeta(pivot)) ?? prop.pivotTable?.split('.').pop()
    if (table) out.add(table)
  }
  return out
}

/**
 * Turns a finished flush into changes. Change sets added after `onFlush` (by other subscribers)
 * are captured here from what is left.
 */
export function flushChanges(
  uow: UnitOfWork,
  pending: PendingFlush | undefined,
  graph: TableGraph,
  scoped: (table: string) => readonly string[],
  mode: BeforeImageMode,
): Change[] {
  const changes: Change[] = []
  for (const cs of uow.getChangeSets()) {
    const item = pending?.items.get(cs) ?? captureChangeSet(cs, scoped, mode)
    if (!item) continue
    changes.push(...itemChanges(item, cs.entity, graph))
    for (const tpt of cs.tptChangeSets ?? []) {
      const table = tableOfMeta(tpt.meta)
      const pk = pkOf(tpt.meta, cs.entity)
      if (table !== undefined && table !== item.table) {
        changes.push(
          pk === undefined
            ? { table, kind: 'bulk' }
            : { table, kind: item.kind, pk, changed: Object.keys(tpt.payload) },
        )
      }
    }
  }
  for (const table of pending?.pivots ?? pivotTables(uow.getCollectionUpdates(), graph))
    changes.push({ table, kind: 'bulk' })
  return changes
}

function itemChanges(item: CapturedChangeSet, entity: object, graph: TableGraph): Change[] {
  const { table, meta, payload } = item
  // An unread before image of a scoped row is unknown: a stale identity map snapshot would bump the wrong list.
  const before = item.fresh ? { ...item.snapshot, ...item.fresh } : item.needsRead ? undefined : item.snapshot
  if (item.kind === 'insert') {
    const pk = pkOf(meta, entity, payload)
    return [pk === undefined ? { table, kind: 'bulk' } : { table, kind: 'insert', pk, after: payload }]
  }
  if (item.pk === undefined) return [{ table, kind: 'bulk' }, ...dependents(graph, meta, 'delete')]
  if (item.kind === 'delete') {
    return [{ table, kind: 'delete', pk: item.pk, before }, ...dependents(graph, meta, 'delete')]
  }
  if ((meta.primaryKeys as string[]).some((p) => Object.hasOwn(payload, p))) {
    const pk = pkOf(meta, entity, payload)
    return [
      { table, kind: 'delete', pk: item.pk, before },
      pk === undefined
        ? { table, kind: 'bulk' }
        : { table, kind: 'insert', pk, after: { ...before, ...payload } },
      ...dependents(graph, meta, 'update'),
    ]
  }
  return [{ table, kind: 'update', pk: item.pk, before, after: payload, changed: Object.keys(payload) }]
}

/** Bulk changes of the tables the database changes itself through foreign key rules. */
export function dependents(graph: TableGraph, meta: EntityMetadata, on: 'delete' | 'update'): Change[] {
  return graph.dependents(meta, on).map((table) => ({ table, kind: 'bulk' }))
}
