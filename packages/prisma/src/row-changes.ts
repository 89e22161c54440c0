import { type Change, canonicalPk, type PrimaryKey } from '@freshkey/core'
import type { ModelIndex, ModelInfo } from './model-index.ts'
import { nestedChanges } from './nested-writes.ts'

type Row = Record<string, unknown>

const isObject = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The scalar fields of a record (relations and `_count` left out). */
export function scalars(model: ModelInfo, record: unknown): Row | undefined {
  if (!isObject(record)) return undefined
  const out: Row = {}
  for (const f of Object.keys(model.columns)) if (Object.hasOwn(record, f)) out[f] = record[f]
  return out
}

/** Fields an update's `data` may change: its scalars, foreign keys set through relations, `@updatedAt` fields. */
export function changedFields(model: ModelInfo, data: unknown): string[] {
  const out = new Set<string>(model.updatedAt)
  if (isObject(data)) {
    for (const key of Object.keys(data)) {
      if (Object.hasOwn(model.columns, key)) out.add(key)
      else for (const f of model.relations.get(key)?.fields ?? []) out.add(f)
    }
  }
  return [...out]
}

/** The primary key of a record, when every key field holds a key value. */
export function pkOf(model: ModelInfo, record: unknown): PrimaryKey | undefined {
  if (!isObject(record) || model.pk.length === 0) return undefined
  const values: Record<string, string | number | bigint> = {}
  for (const f of model.pk) {
    const v = record[f]
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') values[f] = v
    else if (v instanceof Date) values[f] = v.toISOString()
    else return undefined
  }
  return model.pk.length === 1 ? values[model.pk[0]!]! : values
}

/** The key fields a unique `where` pins (`{ id }`, `{ a_b: { a, b } }`, `{ id: { equals } }`), with their raw values. */
export function pkFieldsOfWhere(model: ModelInfo, where: unknown): Row | undefined {
  if (!isObject(where) || model.pk.length === 0) return undefined
  const source = model.pkName && isObject(where[model.pkName]) ? (where[model.pkName] as Row) : where
  const out: Row = {}
  for (const f of model.pk) {
    let v = source[f]
    if (isObject(v) && !(v instanceof Date) && Object.keys(v).length === 1 && 'equals' in v) v = v.equals
    if (v === undefined || v === null || (isObject(v) && !(v instanceof Date))) return undefined
    out[f] = v
  }
  return out
}

/** The unique `where` of a primary key (compound form for a composite key). */
export function uniqueWhere(model: ModelInfo, keys: Row): Row {
  return model.pk.length > 1 && model.pkName ? { [model.pkName]: keys } : keys
}

export function samePk(a: PrimaryKey | undefined, b: PrimaryKey | undefined): boolean {
  if (a === undefined || b === undefined) return false
  try {
    return canonicalPk(a) === canonicalPk(b)
  } catch {
    return false
  }
}

/** An insert from create data: a row change when the data holds the key, else the whole table. */
export function insertFromData(index: ModelIndex, model: ModelInfo, data: unknown): Change {
  const pk = index.precise ? pkOf(model, data) : undefined
  if (pk === undefined) return { table: model.table, kind: 'bulk' }
  const after: Row = {}
  for (const [k, v] of Object.entries(scalars(model, data) ?? {}))
    if (!isObject(v) || v instanceof Date) after[k] = v
  return { table: model.table, kind: 'insert', pk, after }
}

/** A row change for the row a unique `where` names, else the whole table. */
export function rowOrBulk(
  index: ModelIndex,
  model: ModelInfo,
  where: unknown,
  change: { kind: 'update' | 'delete'; changed?: readonly string[] },
): Change {
  const keys = index.precise ? pkFieldsOfWhere(model, where) : undefined
  const pk = keys && pkOf(model, keys)
  if (pk === undefined) return { table: model.table, kind: 'bulk' }
  return change.kind === 'update'
    ? { table: model.table, kind: 'update', pk, ...(change.changed ? { changed: change.changed } : {}) }
    : { table: model.table, kind: 'delete', pk }
}

/** What the write returned and what freshkey read before it. */
export interface WriteOutcome {
  readonly operation: string
  readonly args: Row
  readonly result: unknown
  /** Scoped columns of the row before an update/upsert: a row, `null` when none existed, undefined when not read. */
  readonly before?: Row | null
  /** True when `before` was read by the key the `where` names (not found through another unique field). */
  readonly beforeByWhereKey?: boolean
}

/** The changes one top-level write made, nested writes and database-side effects included. */
export function changesFor(index: ModelIndex, model: ModelInfo, w: WriteOutcome): Change[] {
  const out: Change[] = []
  const bulk = (table: string) => out.push({ table, kind: 'bulk' })
  const { operation, args } = w
  if (!index.precise) {
    bulk(model.table)
    if (operation !== 'create' && operation !== 'createMany' && operation !== 'createManyAndReturn') {
      for (const t of index.related(model)) bulk(t)
    }
    nestedOf(index, model, operation, args, out)
    return out
  }
  switch (operation) {
    case 'create': {
      const pk = pkOf(model, w.result)
      out.push(
        pk === undefined
          ? { table: model.table, kind: 'bulk' }
          : { table: model.table, kind: 'insert', pk, after: scalars(model, w.result)! },
      )
      break
    }
    case 'createMany':
      for (const item of Array.isArray(args.data) ? args.data : [args.data])
        out.push(insertFromData(index, model, item))
      break
    case 'createManyAndReturn':
      for (const row of Array.isArray(w.result) ? w.result : []) {
        const pk = pkOf(model, row)
        out.push(
          pk === undefined
            ? { table: model.table, kind: 'bulk' }
            : { table: model.table, kind: 'insert', pk, after: scalars(model, row)! },
        )
      }
      break
    case 'update':
    case 'upsert': {
      const data = operation === 'update' ? args.data : args.update
      const changed = changedFields(model, data)
      out.push(...updateOf(model, w, operation === 'update' ? changed : undefined, changed))
      for (const t of index.updateEffects(model, changed)) bulk(t)
      break
    }
    case 'updateMany':
      bulk(model.table)
      for (const t of index.updateEffects(model, changedFields(model, args.data))) bulk(t)
      break
    case 'updateManyAndReturn': {
      const changed = changedFields(model, args.data)
      for (const row of Array.isArray(w.result) ? w.result : []) {
        const pk = pkOf(model, row)
        out.push(
          pk === undefined
            ? { table: model.table, kind: 'bulk' }
            : { table: model.table, kind: 'update', pk, after: scalars(model, row)!, changed },
        )
      }
      if (touchesKey(model, changed)) bulk(model.table)
      for (const t of index.updateEffects(model, changed)) bulk(t)
      break
    }
    case 'delete': {
      const pk = pkOf(model, w.result)
      out.push(
        pk === undefined
          ? { table: model.table, kind: 'bulk' }
          : { table: model.table, kind: 'delete', pk, before: scalars(model, w.result)! },
      )
      for (const t of index.deleteEffects(model)) bulk(t)
      break
    }
    case 'deleteMany':
      bulk(model.table)
      for (const t of index.deleteEffects(model)) bulk(t)
      break
    default:
      bulk(model.table)
  }
  nestedOf(index, model, operation, args, out)
  return out
}

function nestedOf(index: ModelIndex, model: ModelInfo, operation: string, args: Row, out: Change[]): void {
  if (operation === 'create' || operation === 'update') nestedChanges(index, model, args.data, out)
  else if (operation === 'upsert') {
    nestedChanges(index, model, args.create, out)
    nestedChanges(index, model, args.update, out)
  }
}

const touchesKey = (model: ModelInfo, changed: readonly string[]) => model.pk.some((f) => changed.includes(f))

/**
 * The row change of an update or upsert. A changed primary key becomes a delete of the old key and
 * an insert of the new one; an old key nobody knows becomes a table-wide change.
 */
function updateOf(
  model: ModelInfo,
  w: WriteOutcome,
  changed: readonly string[] | undefined,
  dataFields: readonly string[],
): Change[] {
  const table = model.table
  const pk = pkOf(model, w.result)
  if (pk === undefined) return [{ table, kind: 'bulk' }]
  const after = scalars(model, w.result)!
  const keyChange = touchesKey(model, dataFields)
  const before = w.before ?? undefined
  const beforePk = before
    ? pkOf(model, before)
    : w.operation === 'update'
      ? pkOf(model, pkFieldsOfWhere(model, w.args.where))
      : undefined
  if (keyChange && beforePk !== undefined && !samePk(beforePk, pk)) {
    if (!w.beforeByWhereKey && before) return [{ table, kind: 'bulk' }]
    return [
      { table, kind: 'delete', pk: beforePk, ...(before ? { before } : {}) },
      { table, kind: 'insert', pk, after },
    ]
  }
  if (keyChange && beforePk === undefined) return [{ table, kind: 'bulk' }]
  // A before image of another row (the unique value moved meanwhile) is no before image.
  const trusted = before && samePk(pkOf(model, before), pk) ? before : undefined
  return [
    {
      table,
      kind: 'update',
      pk,
      after,
      ...(trusted ? { before: trusted } : {}),
      ...(changed ? { changed } : {}),
    },
  ]
}
