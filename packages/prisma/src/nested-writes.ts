import type { Change } from '@freshkey/core'
import type { ModelIndex, ModelInfo, RelationInfo } from './model-index.ts'
import { changedFields, insertFromData, rowOrBulk } from './row-changes.ts'

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v])

/**
 * Changes made by the nested writes in `data` (create/connect/update/... on relation fields).
 * Prisma reports only the top-level operation to extensions, so the data is walked with the
 * relation metadata. Where a row's key is not in the arguments, the whole table is recorded.
 */
export function nestedChanges(index: ModelIndex, model: ModelInfo, data: unknown, out: Change[]): void {
  if (data === null || typeof data !== 'object') return
  for (const [field, ops] of Object.entries(data)) {
    const rel = model.relations.get(field)
    if (!rel || ops === null || typeof ops !== 'object') continue
    const target = index.model(rel.target)
    if (!target) continue
    for (const [op, value] of Object.entries(ops)) relationOp(index, target, rel, op, value, out)
  }
}

function bulk(table: string, out: Change[]): void {
  out.push({ table, kind: 'bulk' })
}

function join(rel: RelationInfo, out: Change[]): void {
  if (rel.joinTable) bulk(rel.joinTable, out)
}

/** The target rows' foreign keys point at the parent: connecting or disconnecting updates them. */
function relink(
  index: ModelIndex,
  target: ModelInfo,
  rel: RelationInfo,
  value: unknown,
  out: Change[],
): void {
  if (rel.joinTable) {
    join(rel, out)
    return
  }
  if (rel.backFields.length === 0 && index.precise) return
  // A to-one link also unlinks whichever row held it before: not in the arguments.
  if (!rel.list || value === true) {
    bulk(target.table, out)
    return
  }
  for (const where of list(value))
    out.push(rowOrBulk(index, target, where, { kind: 'update', changed: rel.backFields }))
}

function relationOp(
  index: ModelIndex,
  target: ModelInfo,
  rel: RelationInfo,
  op: string,
  value: unknown,
  out: Change[],
): void {
  if (!index.precise) {
    fallbackOp(index, target, rel, op, value, out)
    return
  }
  switch (op) {
    case 'create':
      for (const item of list(value)) {
        out.push(insertFromData(index, target, item))
        nestedChanges(index, target, item, out)
      }
      join(rel, out)
      return
    case 'createMany':
      for (const item of list((value as { data?: unknown })?.data))
        out.push(insertFromData(index, target, item))
      return
    case 'connectOrCreate':
      bulk(target.table, out)
      for (const item of list(value))
        nestedChanges(index, target, (item as { create?: unknown })?.create, out)
      join(rel, out)
      return
    case 'connect':
    case 'disconnect':
      relink(index, target, rel, value, out)
      return
    case 'set':
      if (rel.joinTable) {
        join(rel, out)
        return
      }
      bulk(target.table, out)
      return
    case 'update':
      for (const item of list(value)) {
        const { where, data } =
          rel.list || isWrapped(item)
            ? (item as { where?: unknown; data?: unknown })
            : { where: undefined, data: item }
        const changed = changedFields(target, data)
        out.push(
          rel.list
            ? rowOrBulk(index, target, where, { kind: 'update', changed })
            : { table: target.table, kind: 'bulk' },
        )
        for (const t of index.updateEffects(target, changed)) bulk(t, out)
        nestedChanges(index, target, data, out)
      }
      return
    case 'updateMany':
      bulk(target.table, out)
      for (const item of list(value)) {
        for (const t of index.updateEffects(
          target,
          changedFields(target, (item as { data?: unknown })?.data),
        ))
          bulk(t, out)
      }
      return
    case 'upsert':
      bulk(target.table, out)
      for (const item of list(value)) {
        const u = item as { create?: unknown; update?: unknown }
        for (const t of index.updateEffects(target, changedFields(target, u?.update))) bulk(t, out)
        nestedChanges(index, target, u?.create, out)
        nestedChanges(index, target, u?.update, out)
      }
      join(rel, out)
      return
    case 'delete':
      if (!rel.list || value === true) bulk(target.table, out)
      else for (const where of list(value)) out.push(rowOrBulk(index, target, where, { kind: 'delete' }))
      for (const t of index.deleteEffects(target)) bulk(t, out)
      join(rel, out)
      return
    case 'deleteMany':
      bulk(target.table, out)
      for (const t of index.deleteEffects(target)) bulk(t, out)
      join(rel, out)
      return
    default:
      // An operation this version does not know: the whole table, to stay correct.
      bulk(target.table, out)
      join(rel, out)
  }
}

/** A to-one nested `update` is either the data itself or `{ where?, data }`. */
function isWrapped(item: unknown): boolean {
  return (
    item !== null &&
    typeof item === 'object' &&
    'data' in item &&
    Object.keys(item).every((k) => k === 'data' || k === 'where')
  )
}

/** Without metadata: the target table, the possible join table and, for updates and deletes, every related table. */
function fallbackOp(
  index: ModelIndex,
  target: ModelInfo,
  rel: RelationInfo,
  op: string,
  value: unknown,
  out: Change[],
): void {
  bulk(target.table, out)
  join(rel, out)
  if (op !== 'create' && op !== 'createMany' && op !== 'connect' && op !== 'connectOrCreate') {
    for (const t of index.related(target)) bulk(t, out)
  }
  for (const item of list(value)) {
    if (item === null || typeof item !== 'object') continue
    const i = item as { create?: unknown; update?: unknown; data?: unknown }
    if (op === 'create') nestedChanges(index, target, item, out)
    else if (op === 'update') nestedChanges(index, target, isWrapped(item) ? i.data : item, out)
    else if (op === 'upsert' || op === 'connectOrCreate') {
      nestedChanges(index, target, i.create, out)
      nestedChanges(index, target, i.update, out)
    }
  }
}
