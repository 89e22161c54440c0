import type { PrimaryKey } from '@freshkey/core'
import {
  type AddedFields,
  andConjunctions,
  filteredRead,
  type ReadRecord,
  referencingFilter,
  removeAdded,
} from '@freshkey/core/adapter'
import { type Filter, orderFields, translate } from './filters.ts'
import { isObject, list, pkOf, type Row } from './rows.ts'
import type { ModelIndex, ModelInfo, RelationInfo } from './schema.ts'
import { isWrite } from './writes.ts'

/** Read operations whose reads are tracked inside a load. */
export const isRead = (op: string) =>
  op.startsWith('find') || op === 'count' || op === 'aggregate' || op === 'groupBy'

/** Tables a read may look at: the model's and every relation's its arguments name (join tables too). */
export function tablesRead(index: ModelIndex, model: ModelInfo, args: unknown): string[] {
  const out = new Set<string>([model.table])
  const walk = (m: ModelInfo, value: unknown, depth: number): void => {
    if (!isObject(value) || depth > 64 || value instanceof Date || ArrayBuffer.isView(value)) return
    for (const [key, v] of Object.entries(value)) {
      // `_count: true` counts every to-many relation.
      const rels = key === '_count' && v === true ? toMany(m) : [m.relations.get(key)]
      for (const rel of rels) {
        if (rel?.joinTable) out.add(rel.joinTable)
        const target = rel && index.model(rel.target)
        if (target) out.add(target.table)
      }
      const next = rels.length === 1 && rels[0] ? index.model(rels[0].target) : undefined
      for (const item of list(v)) walk(next ?? m, item, depth + 1)
    }
  }
  walk(model, args, 0)
  return [...out]
}

const toMany = (m: ModelInfo) => [...m.relations.values()].filter((r) => r.list)

/** Relations a level of `select`/`include` loads (or counts, under `_count`), with their nested arguments. */
function loaded(model: ModelInfo, args: Row): [RelationInfo, Row, boolean][] {
  const level = isObject(args.select) ? args.select : isObject(args.include) ? args.include : {}
  const c = level._count
  const counted = c === true ? toMany(model).map((r) => [r.name, true]) : []
  const out: [RelationInfo, Row, boolean][] = []
  for (const [entries, count] of [
    [Object.entries(level), false],
    [isObject(c) && isObject(c.select) ? Object.entries(c.select) : counted, true],
  ] as const)
    for (const [key, v] of entries) {
      const rel = model.relations.get(key as string)
      if (rel && v) out.push([rel, isObject(v) ? v : {}, count])
    }
  return out
}

/**
 * Arguments that make every returned record carry its key (a find's nested records too, and the keys
 * their relations load by; a write nothing else: a role may lack SELECT on other columns), and the undo.
 */
export function prepareRead(index: ModelIndex, model: ModelInfo, op: string, args: Row) {
  const deep = op.startsWith('find')
  if (!deep && (op.endsWith('Many') || !isWrite(op))) return { sent: args, strip() {} }
  const [sent, plan] = augment(index, model, args, deep)
  return { sent, strip: (result: unknown) => removeAdded(result, plan) }
}

function augment(index: ModelIndex, model: ModelInfo, args: Row, deep: boolean): [Row, AddedFields] {
  const rels = deep ? loaded(model, args).filter(([, , count]) => !count) : []
  const needed = new Set([...model.primaryKey, ...rels.flatMap(([r]) => [...r.fields, ...r.backReferences])])
  const plan: AddedFields = { added: [], children: [] }
  const key = isObject(args.select) ? 'select' : isObject(args.include) ? 'include' : undefined
  const sent: Row = { ...args }
  const level: Row = { ...(key ? (args[key] as Row) : {}) }
  const omit: Row = isObject(args.omit) && key !== 'select' ? { ...args.omit } : {}
  for (const f of needed)
    if (key === 'select' ? !level[f] : omit[f]) {
      if (key === 'select') level[f] = true
      else delete omit[f]
      plan.added.push(f)
    }
  if (isObject(args.omit) && key !== 'select') sent.omit = omit
  for (const [rel, nested] of rels) {
    const target = index.model(rel.target)
    const [child, childPlan] = target ? augment(index, target, nested, true) : [nested, undefined]
    if (child !== nested) level[rel.name] = child
    if (childPlan && (childPlan.added.length > 0 || childPlan.children.length > 0))
      plan.children.push([rel.name, childPlan])
  }
  if (plan.added.length === 0 && plan.children.length === 0) return [args, plan]
  if (key) sent[key] = level
  return [sent, plan]
}

/** The filter of one level of a read, order fields watched; relation filters and orderings read their tables whole. */
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
export function readRecords(index: ModelIndex, model: ModelInfo, op: string, args: Row, result: unknown) {
  const out: ReadRecord[] = []
  const f = levelFilter(index, model, args, out)
  if (isObject(args.cursor)) out.push(filtered(model, translate(model, args.cursor), [], f.fields))
  if (op.startsWith('find')) {
    const records = list(result).filter(isObject)
    out.push(filtered(model, f, records, f.fields))
    related(index, model, args, records, out)
  } else {
    const counted =
      op === 'count' && isObject(args.select) ? Object.keys(args.select).filter((k) => k !== '_all') : []
    out.push(filtered(model, f, undefined, op === 'count' ? [...f.fields, ...counted] : '*'))
  }
  return out
}

/** One table's filtered read: its filter and the rows it returned (none named by a count or an aggregate). */
const filtered = (model: ModelInfo, f: Filter, records: Row[] | undefined, watch: Iterable<string> | '*') =>
  filteredRead(
    model.table,
    f.where,
    f.rows,
    records?.map((r) => pkOf(model, r)),
    watch,
  )

const keysOf = (rows: Row[], fields: readonly string[]) => rows.map((r) => fields.map((f) => r[f]))

/** Relations loaded for `parents`: to-one lookups, to-many filters on the child's foreign key, `_count`s. */
function related(index: ModelIndex, model: ModelInfo, args: Row, parents: Row[], out: ReadRecord[]): void {
  for (const [rel, nested, count] of loaded(model, args)) {
    const target = index.model(rel.target)
    if (!target || parents.length === 0) continue
    const kids = count ? undefined : parents.flatMap((p) => list(p[rel.name])).filter(isObject)
    const f = levelFilter(index, target, nested, out)
    const watch = [...f.fields, ...rel.backFields]
    if (rel.joinTable) {
      // Membership lives in the join table; the child's own filter, if any, still applies.
      out.push({ table: rel.joinTable, whole: true })
      if (!count || nested.where !== undefined)
        out.push(filtered(target, nested.where === undefined ? { ...f, where: [] } : f, kids, watch))
    } else if (rel.fields.length > 0) {
      // To-one through this model's foreign key: a lookup of the rows it names.
      const lookup = referencingFilter(keysOf(parents, rel.fields), rel.references)
      const ref = target.primaryKey.length === 1 ? target.primaryKey[0]! : undefined
      if (lookup && ref !== undefined && rel.references.length === 1 && rel.references[0] === ref) {
        const rows = list(lookup[0]![ref]).map((v) => pkOf(target, { [ref]: v }))
        out.push(filtered(target, { ...f, where: [], rows: rows as PrimaryKey[] }, kids, []))
      } else out.push(filtered(target, { ...f, where: lookup }, kids, rel.references))
    } else {
      const fk =
        rel.backFields.length > 0
          ? referencingFilter(keysOf(parents, rel.backReferences), rel.backFields)
          : undefined
      out.push(filtered(target, { ...f, where: fk && f.where && andConjunctions(fk, f.where) }, kids, watch))
    }
    if (kids) related(index, target, nested, kids, out)
  }
}
