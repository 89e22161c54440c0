import type { PrimaryKey } from '@freshkey/core'
import type { ReadRecord } from '@freshkey/core/adapter'
import { type Conjunction, type Filter, orderFields, translate } from './filters.ts'
import { isObject, list, pkOf, type Row } from './rows.ts'
import type { ModelIndex, ModelInfo, RelationInfo } from './schema.ts'

/** Read operations whose reads are tracked inside a load. */
export const READS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
])
const FINDS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany'])

/**
 * Tables a read may look at: the model's, and those of every relation its arguments name, in
 * `include`, `select`, `_count`, relation filters and relation `orderBy` (with their join tables).
 */
export function tablesRead(index: ModelIndex, model: ModelInfo, args: unknown): string[] {
  const out = new Set<string>([model.table])
  const walk = (m: ModelInfo, value: unknown, depth: number): void => {
    if (!isObject(value) || depth > 64 || value instanceof Date || ArrayBuffer.isView(value)) return
    for (const [key, v] of Object.entries(value)) {
      // `_count: true` counts every to-many relation.
      const rels =
        key === '_count' && v === true
          ? [...m.relations.values()].filter((r) => r.list)
          : [m.relations.get(key)]
      for (const rel of rels) {
        const target = rel && index.model(rel.target)
        if (rel?.joinTable) out.add(rel.joinTable)
        if (target) out.add(target.table)
      }
      const target = rels.length === 1 && rels[0] ? index.model(rels[0].target) : undefined
      for (const item of Array.isArray(v) ? v : [v]) walk(target ?? m, item, depth + 1)
    }
  }
  walk(model, args, 0)
  return [...out]
}

interface Strip {
  readonly added: string[]
  readonly children: [string, Strip][]
}

/** Relation fields a level of `select`/`include` loads, with their nested arguments. */
function loaded(model: ModelInfo, args: Row): [RelationInfo, Row][] {
  const sel = isObject(args.select) ? args.select : isObject(args.include) ? args.include : {}
  const out: [RelationInfo, Row][] = []
  for (const [key, v] of Object.entries(sel)) {
    const rel = model.relations.get(key)
    if (rel && v) out.push([rel, isObject(v) ? v : {}])
  }
  return out
}

/**
 * The arguments to send so every returned record (nested ones too) carries its primary key and the
 * keys its relations are loaded by, and a function that takes what was added out of the result.
 */
export function prepareRead(
  index: ModelIndex,
  model: ModelInfo,
  op: string,
  args: Row,
): { sent: Row; strip(result: unknown): void } {
  if (!FINDS.has(op)) return { sent: args, strip() {} }
  const [sent, plan] = augment(index, model, args)
  return { sent, strip: (result) => strip(result, plan) }
}

function augment(index: ModelIndex, model: ModelInfo, args: Row): [Row, Strip] {
  const rels = loaded(model, args)
  const needed = new Set([...model.primaryKey, ...rels.flatMap(([r]) => [...r.fields, ...r.backReferences])])
  const plan: Strip = { added: [], children: [] }
  const key = isObject(args.select) ? 'select' : isObject(args.include) ? 'include' : undefined
  const sent: Row = { ...args }
  const level: Row = key ? { ...(args[key] as Row) } : {}
  if (key === 'select') {
    for (const f of needed)
      if (!level[f]) {
        level[f] = true
        plan.added.push(f)
      }
  } else if (isObject(args.omit)) {
    const omit = { ...args.omit }
    for (const f of needed)
      if (omit[f]) {
        delete omit[f]
        plan.added.push(f)
      }
    sent.omit = omit
  }
  for (const [rel, nested] of rels) {
    const target = index.model(rel.target)
    if (!target) continue
    const [child, childPlan] = augment(index, target, nested)
    if (child !== nested) level[rel.name] = child
    if (childPlan.added.length > 0 || childPlan.children.length > 0) plan.children.push([rel.name, childPlan])
  }
  if (plan.added.length === 0 && plan.children.length === 0) return [args, plan]
  if (key) sent[key] = level
  return [sent, plan]
}

function strip(result: unknown, plan: Strip): void {
  for (const rec of list(result)) {
    if (!isObject(rec)) continue
    for (const f of plan.added) delete rec[f]
    for (const [field, child] of plan.children) strip(rec[field], child)
  }
}

/** The filter of one level of a read, its order fields watched; relation filters and orderings read their tables whole. */
function levelFilter(index: ModelIndex, model: ModelInfo, args: Row, out: ReadRecord[]): Filter {
  const f = translate(model, args.where)
  const relations = new Set(f.relations)
  orderFields(model, args.orderBy, f.fields, relations)
  orderFields(model, args.distinct, f.fields, relations)
  if (relations.size > 0)
    for (const t of tablesRead(index, model, { where: args.where, orderBy: args.orderBy }))
      if (t !== model.table) out.push({ table: t, whole: true })
  return f
}

/** What a read returned, as the read tracker takes it: rows, filters, and the tables read whole. */
export function readRecords(
  index: ModelIndex,
  model: ModelInfo,
  op: string,
  args: Row,
  result: unknown,
): ReadRecord[] {
  const out: ReadRecord[] = []
  const table = model.table
  const f = levelFilter(index, model, args, out)
  if (isObject(args.cursor)) out.push(...filtered(model, translate(model, args.cursor), [], f.fields))
  if (!FINDS.has(op)) {
    const counted =
      op === 'count' && isObject(args.select) ? Object.keys(args.select).filter((k) => k !== '_all') : []
    const watch = op === 'count' ? [...f.fields, ...counted] : '*'
    if (f.where === undefined) out.push({ table, whole: true })
    else
      out.push({
        table,
        rows: f.rows,
        ...(f.where.length > 0 || f.rows.length === 0 ? { where: f.where } : {}),
        watch,
        enumerates: false,
      })
    return out
  }
  const records = list(result).filter(isObject)
  out.push(...filtered(model, f, records, f.fields))
  related(index, model, args, records, out)
  return out
}

/** The record of one table's filtered read: its filter and the rows it returned. */
function filtered(model: ModelInfo, f: Filter, records: Row[], watch: Iterable<string>): ReadRecord[] {
  const returned = records.map((r) => pkOf(model, r))
  if (f.where === undefined || returned.some((pk) => pk === undefined))
    return [{ table: model.table, whole: true }]
  const rows = [...f.rows, ...(returned as PrimaryKey[])]
  if (f.where.length === 0) return [{ table: model.table, rows }]
  return [{ table: model.table, rows, where: f.where, watch: [...watch] }]
}

/** `{ fk: [keys…] }` for one field, one conjunction per parent for a compound key; undefined when a key is missing. */
function keyFilter(
  parents: Row[],
  from: readonly string[],
  to: readonly string[],
): Conjunction[] | undefined {
  const keys = parents.map((p) => from.map((f) => p[f]))
  if (keys.some((k) => k.some((v) => v === undefined))) return undefined
  const present = keys.filter((k) => k.every((v) => v !== null))
  if (to.length === 1) return [{ [to[0]!]: [...new Set(present.map((k) => k[0]))] }]
  return present.map((k) => Object.fromEntries(to.map((f, i) => [f, k[i]])))
}

function keysOf(model: ModelInfo, conjs: Conjunction[]): PrimaryKey[] {
  const f = model.primaryKey[0]!
  const rows =
    model.primaryKey.length === 1 ? conjs.flatMap((c) => list(c[f]).map((v) => ({ [f]: v }))) : conjs
  return rows.map((r) => pkOf(model, r)).filter((pk) => pk !== undefined)
}

function cross(a: Conjunction[], b: Conjunction[]): Conjunction[] {
  return a.flatMap((x) => b.map((y) => ({ ...y, ...x })))
}

/** Relations loaded for `parents`: to-one lookups, to-many filters on the child's foreign key, `_count`. */
function related(index: ModelIndex, model: ModelInfo, args: Row, parents: Row[], out: ReadRecord[]): void {
  for (const [rel, nested] of loaded(model, args)) {
    const target = index.model(rel.target)
    if (!target) continue
    const kids = parents.flatMap((p) => list(p[rel.name])).filter(isObject)
    const f = levelFilter(index, target, nested, out)
    if (rel.joinTable) {
      // Membership lives in the join table; the child's own filter, if any, still applies.
      out.push({ table: rel.joinTable, whole: true })
      out.push(...filtered(target, nested.where === undefined ? { ...f, where: [] } : f, kids, f.fields))
    } else if (rel.fields.length > 0) {
      // To-one through this model's foreign key: a lookup of the rows it names.
      const lookup = keyFilter(parents, rel.fields, rel.references)
      const byKey =
        rel.references.length === target.primaryKey.length &&
        rel.references.every((r) => target.primaryKey.includes(r))
      if (!lookup) out.push({ table: target.table, whole: true })
      else if (byKey)
        out.push(...filtered(target, { ...f, where: [], rows: keysOf(target, lookup) }, kids, []))
      else out.push(...filtered(target, { ...f, where: lookup }, kids, rel.references))
    } else if (rel.backFields.length > 0) {
      const fk = keyFilter(parents, rel.backReferences, rel.backFields)
      if (!fk || f.where === undefined) out.push({ table: target.table, whole: true })
      else if (parents.length > 0)
        out.push(
          ...filtered(target, { ...f, where: cross(fk, f.where) }, kids, [...f.fields, ...rel.backFields]),
        )
    } else out.push({ table: target.table, whole: true })
    related(index, target, nested, kids, out)
  }
  counts(index, model, args, parents, out)
}

function counts(index: ModelIndex, model: ModelInfo, args: Row, parents: Row[], out: ReadRecord[]): void {
  const c =
    (isObject(args.select) ? args.select._count : undefined) ??
    (isObject(args.include) ? args.include._count : undefined)
  if (!c || parents.length === 0) return
  const which: [RelationInfo, unknown][] =
    c === true
      ? [...model.relations.values()].filter((r) => r.list).map((r) => [r, true])
      : Object.entries(isObject(c) && isObject(c.select) ? c.select : {}).flatMap(([k, v]) => {
          const rel = model.relations.get(k)
          return rel && v ? [[rel, v] as [RelationInfo, unknown]] : []
        })
  for (const [rel, v] of which) {
    const target = index.model(rel.target)
    if (!target) continue
    const f = translate(target, isObject(v) ? v.where : undefined)
    const fk = rel.backFields.length > 0 ? keyFilter(parents, rel.backReferences, rel.backFields) : undefined
    if (rel.joinTable) out.push({ table: rel.joinTable, whole: true })
    if (rel.joinTable && !isObject(v)) continue
    if (!fk || f.where === undefined || f.relations.size > 0) out.push({ table: target.table, whole: true })
    else
      out.push({
        table: target.table,
        rows: f.rows,
        where: cross(fk, f.where),
        watch: [...f.fields, ...rel.backFields],
        enumerates: false,
      })
  }
}
