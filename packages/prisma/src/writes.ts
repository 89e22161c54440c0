import { bulkFact, type WriteFact } from '@freshkey/core/adapter'
import { changedFields, isObject, list, pkOf, pkOfWhere, type Row, scalars, written } from './rows.ts'
import type { ModelIndex, ModelInfo, RelationInfo } from './schema.ts'

type Verb = 'insert' | 'update' | 'delete' | 'unknown'
const BULK: Record<string, Verb> = { updateMany: 'update', deleteMany: 'delete' }

/** Operations freshkey records (`create`, `createMany`, `update`, `upsert`, `deleteMany`…). */
export const isWrite = (op: string) => /^(create|update|upsert|delete)/.test(op)

/**
 * What one top-level write did, nested writes included. Without `result`: worked out before it runs
 * (an update or delete by key, fenced in parallel with it), or undefined when that cannot be done.
 */
export function writeFacts(ix: ModelIndex, m: ModelInfo, op: string, args: Row, result?: unknown) {
  const { table } = m
  const early = result === undefined
  const out: WriteFact[] = []
  const changed = changedFields(m, op === 'upsert' ? args.update : args.data)
  const keyChange = m.primaryKey.some((f) => changed.includes(f))
  const updated = (after: Row, pk = pkOf(m, after)): WriteFact =>
    pk === undefined || keyChange
      ? bulkFact(table, 'update', changed)
      : { table, kind: 'update', pk, after, changed }
  if (op === 'create' || op === 'createManyAndReturn')
    for (const row of list(result)) out.push(inserted(m, scalars(m, row)))
  else if (op === 'createMany') for (const item of list(args.data)) out.push(inserted(m, written(m, item)))
  else if (op === 'updateManyAndReturn') for (const row of list(result)) out.push(updated(scalars(m, row)!))
  else if (op === 'upsert') {
    // Inserted or updated: both are recorded (the insert's conditions, the update's cascades).
    const after = scalars(m, result)!
    out.push(updated(after))
    if (!keyChange) out.push(inserted(m, after))
  } else if (op === 'update') {
    const pk = pkOfWhere(m, args.where)
    if (pk === undefined && early) return undefined
    const data = written(m, args.data)
    const after = early ? data : scalars(m, result)!
    const old = pk ?? (keyChange ? undefined : pkOf(m, after))
    const one = m.primaryKey.length === 1 ? { [m.primaryKey[0]!]: pk } : (pk as Row)
    const newPk = !keyChange ? old : pkOf(m, early ? { ...one, ...data } : after)
    if (old === undefined || newPk === undefined) out.push(bulkFact(table, 'update', changed))
    else out.push({ table, kind: 'update', pk: old, ...(keyChange ? { newPk } : {}), after, changed })
  } else if (op === 'delete') {
    // The row a delete returns is the one it deleted: a before image the write itself returned.
    const before = early ? undefined : scalars(m, result)
    const pk = early ? pkOfWhere(m, args.where) : pkOf(m, before)
    if (pk === undefined && early) return undefined
    out.push(pk === undefined ? bulkFact(table, 'delete') : { table, kind: 'delete', pk, before })
  } else out.push(bulkFact(table, BULK[op] ?? 'unknown', op === 'updateMany' ? changed : undefined))
  const data =
    op === 'upsert' ? [args.create, args.update] : op === 'create' || op === 'update' ? [args.data] : []
  for (const d of data) nested(ix, m, d, out)
  return out
}

/** An insert of a row (from the result, or the values written): a row when it holds the key. */
function inserted(m: ModelInfo, after: Row | undefined): WriteFact {
  const pk = pkOf(m, after)
  return pk === undefined
    ? bulkFact(m.table, 'insert')
    : { table: m.table, kind: 'insert', pk, after: after! }
}

/**
 * The writes nested in `data` (create/connect/update… on relation fields): Prisma tells extensions
 * only the top-level operation. A row the arguments name by key is a row; anything else its table.
 */
function nested(ix: ModelIndex, m: ModelInfo, data: unknown, out: WriteFact[]): void {
  if (!isObject(data)) return
  for (const [field, ops] of Object.entries(data)) {
    const rel = m.relations.get(field)
    const target = rel && ix.model(rel.target)
    if (rel && target && isObject(ops))
      for (const [op, value] of Object.entries(ops)) nestedOp(ix, rel, op, value, out)
  }
}

function nestedOp(ix: ModelIndex, rel: RelationInfo, op: string, value: unknown, out: WriteFact[]) {
  const target = ix.model(rel.target)!
  const t = target.table
  const join = (verb: Verb) => rel.joinTable && out.push(bulkFact(rel.joinTable, verb))
  // A to-many write names its rows by key (`true` and lists name none); a to-one one is its table.
  const byKey = (where: unknown, kind: 'update' | 'delete', changed?: readonly string[]): WriteFact => {
    const pk = rel.list ? pkOfWhere(target, where) : undefined
    return pk === undefined ? bulkFact(t, kind, changed) : { table: t, kind, pk, changed }
  }
  // `set: []` names no rows yet changes links: it is one item.
  for (const item of op === 'set' ? [value] : list(value)) {
    const obj = isObject(item) ? item : {}
    if (op === 'create') {
      out.push(inserted(target, written(target, item)))
      join('insert')
      nested(ix, target, item, out)
    } else if (op === 'createMany')
      for (const row of list(obj.data)) out.push(inserted(target, written(target, row)))
    else if (op === 'connectOrCreate' || op === 'upsert') {
      out.push(bulkFact(t, 'update', op === 'upsert' ? changedFields(target, obj.update) : rel.backFields))
      join('insert')
      for (const d of [obj.create, obj.update]) nested(ix, target, d, out)
    } else if (op === 'connect' || op === 'disconnect' || op === 'set') {
      if (rel.joinTable) join(op === 'connect' ? 'insert' : 'delete')
      // The foreign key in the parent row is the parent's own change. A to-one link also unlinks
      // whichever row held it before, and `set` drops rows: those are not in the arguments.
      else if (rel.backFields.length > 0)
        out.push(op === 'set' ? bulkFact(t, 'update', rel.backFields) : byKey(item, 'update', rel.backFields))
    } else if (op === 'update') {
      // A to-one nested update is the data itself or `{ where?, data }`.
      const wrapped =
        rel.list || ('data' in obj && Object.keys(obj).every((k) => k === 'data' || k === 'where'))
      const data = wrapped ? obj.data : item
      out.push(byKey(obj.where, 'update', changedFields(target, data)))
      nested(ix, target, data, out)
    } else if (op === 'updateMany') out.push(bulkFact(t, 'update', changedFields(target, obj.data)))
    else if (op === 'delete') out.push(byKey(item, 'delete'))
    else if (op === 'deleteMany') out.push(bulkFact(t, 'delete'))
    else {
      // An operation this version does not know: the whole table, to stay correct.
      out.push(bulkFact(t, 'unknown'))
      join('unknown')
    }
  }
}
