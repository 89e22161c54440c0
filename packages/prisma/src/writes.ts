import type { WriteFact } from '@freshkey/core/adapter'
import { changedFields, isObject, list, pkOf, pkOfWhere, type Row, scalars, written } from './rows.ts'
import type { ModelIndex, ModelInfo, RelationInfo } from './schema.ts'

type Verb = 'insert' | 'update' | 'delete' | 'unknown'
const bulk = (table: string, verb: Verb, changed?: readonly string[]): WriteFact =>
  changed ? { table, kind: 'bulk', verb, changed } : { table, kind: 'bulk', verb }

/** Operations freshkey records. */
export const WRITES = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
])

/**
 * What one top-level write did, nested writes included. With `result` undefined the facts are
 * worked out before the statement runs (an update or delete by primary key, for a fence sent in
 * parallel with it); undefined when that cannot be done.
 */
export function writeFacts(
  index: ModelIndex,
  model: ModelInfo,
  op: string,
  args: Row,
  result?: unknown,
): WriteFact[] | undefined {
  const { table, primaryKey } = model
  const early = result === undefined
  const out: WriteFact[] = []
  const rows = Array.isArray(result) ? result : []
  const changed = changedFields(model, op === 'upsert' ? args.update : args.data)
  const keyChange = primaryKey.some((f) => changed.includes(f))
  switch (op) {
    case 'create':
    case 'createManyAndReturn':
      for (const row of list(result)) out.push(inserted(model, scalars(model, row)))
      break
    case 'createMany':
      for (const item of list(args.data)) out.push(inserted(model, written(model, item)))
      break
    case 'update': {
      const pk = pkOfWhere(model, args.where)
      if (pk === undefined && early) return undefined
      const data = written(model, args.data)
      const after = early ? data : scalars(model, result)!
      const old = pk ?? (keyChange ? undefined : pkOf(model, after))
      const newPk = !keyChange ? old : pkOf(model, early ? { ...keyFields(model, pk), ...data } : after)
      if (old === undefined || newPk === undefined) out.push(bulk(table, 'update', changed))
      else out.push({ table, kind: 'update', pk: old, ...(keyChange ? { newPk } : {}), after, changed })
      break
    }
    case 'upsert': {
      const after = scalars(model, result)!
      const pk = pkOf(model, after)
      // Inserted or updated: both are recorded (the insert's conditions, the update's cascades).
      if (pk === undefined || keyChange) out.push(bulk(table, 'update', changed))
      else out.push({ table, kind: 'insert', pk, after }, { table, kind: 'update', pk, after, changed })
      break
    }
    case 'updateManyAndReturn':
      for (const row of rows) {
        const after = scalars(model, row)!
        const pk = pkOf(model, after)
        out.push(
          pk === undefined || keyChange
            ? bulk(table, 'update', changed)
            : { table, kind: 'update', pk, after, changed },
        )
      }
      break
    case 'updateMany':
      out.push(bulk(table, 'update', changed))
      break
    case 'delete': {
      const before = early ? undefined : scalars(model, result)
      const pk = early ? pkOfWhere(model, args.where) : pkOf(model, before)
      if (pk === undefined && early) return undefined
      // The row a delete returns is the one it deleted: a before image the write itself returned.
      out.push(
        pk === undefined
          ? bulk(table, 'delete')
          : { table, kind: 'delete', pk, ...(before ? { before } : {}) },
      )
      break
    }
    case 'deleteMany':
      out.push(bulk(table, 'delete'))
      break
    default:
      out.push(bulk(table, 'unknown'))
  }
  if (op === 'create' || op === 'update') nested(index, model, args.data, out)
  if (op === 'upsert') for (const d of [args.create, args.update]) nested(index, model, d, out)
  return out
}

function keyFields(model: ModelInfo, pk: unknown): Row {
  return model.primaryKey.length === 1 ? { [model.primaryKey[0]!]: pk } : isObject(pk) ? pk : {}
}

/** An insert of a row (from the result, or the values written): a row when it holds the key. */
function inserted(model: ModelInfo, after: Row | undefined): WriteFact {
  const pk = pkOf(model, after)
  return pk === undefined
    ? bulk(model.table, 'insert')
    : { table: model.table, kind: 'insert', pk, after: after! }
}

/** A to-one nested `update` is either the data itself or `{ where?, data }`. */
function isWrapped(item: Row): boolean {
  return 'data' in item && Object.keys(item).every((k) => k === 'data' || k === 'where')
}

/**
 * The writes nested in `data` (create/connect/update/... on relation fields): Prisma reports only
 * the top-level operation to extensions, so the data is walked with the relation metadata. A row
 * the arguments name by its key is a row; anything else is its table.
 */
function nested(index: ModelIndex, model: ModelInfo, data: unknown, out: WriteFact[]): void {
  if (!isObject(data)) return
  for (const [field, ops] of Object.entries(data)) {
    const rel = model.relations.get(field)
    const target = rel && index.model(rel.target)
    if (rel && target && isObject(ops))
      for (const [op, value] of Object.entries(ops)) relationOp(index, target, rel, op, value, out)
  }
}

function relationOp(
  index: ModelIndex,
  target: ModelInfo,
  rel: RelationInfo,
  op: string,
  value: unknown,
  out: WriteFact[],
): void {
  const t = target.table
  const join = (verb: Verb) => {
    if (rel.joinTable) out.push(bulk(rel.joinTable, verb))
  }
  const byKey = (where: unknown, kind: 'update' | 'delete', changed: readonly string[]): WriteFact => {
    const pk = pkOfWhere(target, where)
    if (pk === undefined) return bulk(t, kind, kind === 'update' ? changed : undefined)
    return kind === 'update' ? { table: t, kind, pk, changed } : { table: t, kind, pk }
  }
  // `set: []` names no rows yet changes links: it is one item.
  for (const item of op === 'set' ? [value] : list(value)) {
    const obj = isObject(item) ? item : {}
    switch (op) {
      case 'create':
        out.push(inserted(target, written(target, item)))
        join('insert')
        nested(index, target, item, out)
        break
      case 'createMany':
        for (const row of list(obj.data)) out.push(inserted(target, written(target, row)))
        break
      case 'connectOrCreate':
        out.push(bulk(t, 'update', rel.backFields))
        join('insert')
        nested(index, target, obj.create, out)
        break
      case 'connect':
      case 'disconnect':
      case 'set':
        if (rel.joinTable) join(op === 'connect' ? 'insert' : 'delete')
        // The foreign key in the parent row is the parent's own change.
        else if (rel.backFields.length === 0) break
        else if (rel.list && op !== 'set' && item !== true) out.push(byKey(item, 'update', rel.backFields))
        // A to-one link also unlinks whichever row held it before, and `set` drops rows: not in the arguments.
        else out.push(bulk(t, 'update', rel.backFields))
        break
      case 'update': {
        const wrapped = rel.list || isWrapped(obj)
        const data = wrapped ? obj.data : item
        const changed = changedFields(target, data)
        out.push(rel.list ? byKey(obj.where, 'update', changed) : bulk(t, 'update', changed))
        nested(index, target, data, out)
        break
      }
      case 'updateMany':
        out.push(bulk(t, 'update', changedFields(target, obj.data)))
        break
      case 'upsert':
        out.push(bulk(t, 'update', changedFields(target, obj.update)))
        join('insert')
        for (const d of [obj.create, obj.update]) nested(index, target, d, out)
        break
      case 'delete':
        out.push(rel.list && item !== true ? byKey(item, 'delete', []) : bulk(t, 'delete'))
        break
      case 'deleteMany':
        out.push(bulk(t, 'delete'))
        break
      default:
        // An operation this version does not know: the whole table, to stay correct.
        out.push(bulk(t, 'unknown'))
        join('unknown')
    }
  }
}
