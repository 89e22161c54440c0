import type { PrimaryKey } from '@freshkey/core'
import { andConjunctions, type ReadRecord, wholeTables } from '@freshkey/core/adapter'
import type * as M from '@mikro-orm/core'
import { helper, Reference, Utils } from '@mikro-orm/core'
import { keyValue, ownsKey, pivotOf, pkOf, pkOfEntity, plain, type Row, tableOf } from './metadata.ts'

type Meta = M.EntityMetadata
type Prop = M.EntityProperty
/** Normalized populate hints, or every loaded relation of serialized data. */
type Level = readonly { readonly field: string; readonly children?: Level }[] | 'all'

/** Filters that expand to more alternatives than this depend on the whole table. */
const MAX_CONJUNCTIONS = 32
const NOT = Symbol('not understood')
const scalar = (v: unknown) => (plain(v) ? v : (keyValue(v) ?? NOT))

/** The value of an equality on one column (`v`, `null`, `{ $eq }`, `{ $in }`, an array = IN, a foreign key `{ id }`), or NOT. */
function equality(meta: Meta, key: string, value: unknown, nested = false): unknown {
  const prop = meta.properties[key] as Prop | undefined
  const type = prop?.customType?.constructor?.name
  const column = prop?.kind === 'scalar' || (ownsKey(prop) && prop?.targetMeta?.primaryKeys.length === 1)
  const opaque =
    prop?.persist === false || prop?.formula || prop?.array || /^(Json|Array)Type$/.test(type ?? '')
  if (!column || opaque) return NOT
  if (Array.isArray(value)) return nested || value.some((v) => scalar(v) === NOT) ? NOT : value.map(scalar)
  if (!Utils.isPlainObject(value)) return scalar(value)
  const [op, ...more] = Object.keys(value)
  if (more.length > 0) return NOT
  if (op === '$eq' || op === '$in')
    return op === '$in' && !Array.isArray(value.$in) ? NOT : equality(meta, key, value[op], op === '$eq')
  return ownsKey(prop) && op === prop!.targetMeta!.primaryKeys[0] ? equality(meta, key, value[op!]) : NOT
}

/**
 * A MikroORM filter as a disjunction of conjunctions of equalities (`$and`, small `$or`, `$eq`,
 * `$in`, arrays, `null`, foreign keys); undefined when it holds anything else (ranges, `$ne`, `$like`,
 * relation conditions, raw SQL). A repeated field keeps its first condition: wider.
 */
function conjunctions(meta: Meta, where: unknown): Row[] | undefined {
  if (where === undefined || where === null) return [{}]
  if (meta.primaryKeys.length === 1 && (Array.isArray(where) || keyValue(where) !== undefined))
    where = { [meta.primaryKeys[0]!]: where }
  if (!Utils.isPlainObject(where)) return undefined
  let out: Row[] = [{}]
  for (const [key, value] of Object.entries(where)) {
    if (key === '$and' || key === '$or') {
      const parts = Array.isArray(value) ? value.map((sub) => conjunctions(meta, sub)) : [undefined]
      if (parts.includes(undefined)) return undefined
      if (key === '$and') for (const p of parts) out = andConjunctions(out, p!)
      else out = andConjunctions(out, parts.flat() as Row[])
    } else {
      const v = key.startsWith('$') ? NOT : equality(meta, key, value)
      if (v === NOT) return undefined
      out = out.map((c) => (Object.hasOwn(c, key) ? c : { ...c, [key]: v }))
    }
    if (out.length > MAX_CONJUNCTIONS) return undefined
  }
  return out
}

/** Tables a filter reaches through relation conditions (joins and subqueries), added to `out`. */
export function relatedTables(meta: Meta, where: unknown, out: Set<string>): Set<string> {
  const entries = Array.isArray(where)
    ? where.map((w) => ['$and', w])
    : Object.entries(Utils.isPlainObject(where) ? where : {})
  for (const [key, value] of entries) {
    const prop = meta.properties[key.split('.')[0]!] as Prop | undefined
    if (key.startsWith('$')) relatedTables(meta, value, out)
    else if (prop?.kind === 'embedded' && prop.targetMeta) relatedTables(prop.targetMeta, value, out)
    else if (prop?.targetMeta && prop.kind !== 'scalar' && equality(meta, key, value) === NOT) {
      for (const t of [tableOf(prop.targetMeta), pivotOf(prop)]) if (t) out.add(t)
      relatedTables(prop.targetMeta, value, out)
    }
  }
  return out
}

/** Order fields of `orderBy` (object or list); undefined when one is not a column of the entity. */
function orderFields(meta: Meta, orderBy: unknown): string[] | undefined {
  const entries = (Array.isArray(orderBy) ? orderBy : [orderBy ?? {}]).map((o) =>
    Utils.isPlainObject(o) ? Object.entries(o) : undefined,
  )
  const fields = entries
    .flat()
    .map((e) => (e && !Utils.isPlainObject(e[1]) && equality(meta, e[0], null) !== NOT ? e[0] : undefined))
  return entries.includes(undefined) || fields.includes(undefined) ? undefined : (fields as string[])
}

/**
 * The read records of one query of `meta`'s table, given the rows it returned (none: a count, a
 * result that names no rows): its rows (a lookup by primary key: the keys asked, found or not), its
 * filter as conjunctions, watched on the filter and order fields. Relation conditions add whole tables.
 */
export function queryRecords(meta: Meta, where: unknown, options?: Row, result?: readonly Row[]) {
  const keys = result?.map((r) => pkOf(meta, r))
  const rows = keys?.includes(undefined) ? undefined : (keys as PrimaryKey[] | undefined)
  const table = tableOf(meta)
  const related = relatedTables(meta, where, new Set())
  const out = wholeTables([...related].filter((t) => t !== table))
  const opaque = ['groupBy', 'having', 'unionWhere'].some((o) => !Utils.isEmpty(options?.[o]))
  const conjs = opaque || meta.pivotTable ? undefined : conjunctions(meta, where)
  const order = rows ? orderFields(meta, options?.orderBy) : []
  if (table === undefined) return []
  if (!conjs || !order || related.has(table)) return [...out, { table, whole: true }]
  const pk = meta.primaryKeys.length === 1 ? meta.primaryKeys[0]! : undefined
  const asked = conjs.length === 1 && Object.keys(conjs[0]!).join() === pk ? conjs[0]![pk] : null
  if (rows && asked !== null) return [...out, { table, rows: [...rows, ...[asked].flat()] as PrimaryKey[] }]
  const watch = [...new Set([...conjs.flatMap((c) => Object.keys(c)), ...order])]
  return [...out, { table, where: conjs, watch, ...(rows ? { rows } : { enumerates: false }) }]
}

/** Tables populate hints reach (targets and pivot tables), added to `out`. */
export function hintTables(meta: Meta, hints: unknown, out: Set<string>): Set<string> {
  for (const hint of Array.isArray(hints) ? (hints as { field?: string; children?: unknown }[]) : []) {
    const prop = meta.properties[String(hint?.field).split(':')[0]!] as Prop | undefined
    for (const t of prop?.targetMeta ? [tableOf(prop.targetMeta), pivotOf(prop)] : []) if (t) out.add(t)
    if (prop?.targetMeta) hintTables(prop.targetMeta, hint.children, out)
  }
  return out
}

/** Every table reachable from `meta` through relations (what a serialized entity can hold). */
export function reachableTables(meta: Meta, out = new Set<string>()): Set<string> {
  const table = tableOf(meta)
  if (table === undefined || out.has(table)) return out
  out.add(table)
  for (const prop of meta.relations ?? []) {
    const pivot = pivotOf(prop)
    if (pivot) out.add(pivot)
    if (prop.targetMeta) reachableTables(prop.targetMeta, out)
  }
  return out
}

type Loaded = { one: Row | null } | { many: Row[] } | undefined
type Collection = { isInitialized?: () => boolean; getItems?: (check?: boolean) => Row[] }

/** What a loaded relation holds (walking never loads): entities' initialized references and collections, or serialized data's nested rows. */
function loaded(node: Row, prop: Prop, serialized: boolean): Loaded {
  const value = node[prop.name]
  const coll = value as Collection | undefined
  if (serialized && Array.isArray(value)) return { many: value.filter(Utils.isPlainObject) as Row[] }
  if (value === null) return serialized && ownsKey(prop) ? undefined : { one: null }
  if (serialized) return Utils.isPlainObject(value) ? { one: value } : undefined
  if (prop.kind === '1:m' || prop.kind === 'm:n')
    return coll?.isInitialized?.() ? { many: coll.getItems!(false) } : undefined
  const target = Reference.unwrapReference(value as object) as Row | undefined
  return target && helper(target).isInitialized() ? { one: target } : undefined
}

/**
 * Read records of loaded entities and their relations (`hints`, or all of serialized data): rows
 * of every node; to-many and inverse one-to-one relations a filter on the child's foreign key
 * (`{ article: [1, 2] }`) watched on every field, whole when the query narrowed what it
 * populated through another table; pivot tables whole.
 */
export function graphRecords(meta: Meta, nodes: Row[], hints: Level, serialized: boolean, narrowed: boolean) {
  const rows = new Map<string, PrimaryKey[]>()
  const out: ReadRecord[] = []
  const pk = (m: Meta, n: Row) => (serialized ? pkOf(m, n) : pkOfEntity(n))
  const visit = (m: Meta, items: readonly Row[], level: Level, depth: number): void => {
    const table = tableOf(m)
    if (table === undefined || items.length === 0 || depth > 8) return
    const keys = items.map((item) => pk(m, item))
    rows.set(table, [...(rows.get(table) ?? []), ...(keys.filter((k) => k !== undefined) as PrimaryKey[])])
    if (keys.includes(undefined)) out.push({ table, whole: true })
    const follow =
      level === 'all' ? (m.relations ?? []).map((p) => ({ field: p.name, children: 'all' })) : level
    for (const { field, children } of follow as { field: string; children?: Level }[]) {
      const prop = m.properties[field.split(':')[0]!] as Prop | undefined
      const target = prop?.targetMeta
      const got = target
        ? items.map((item) => [item, loaded(item, prop!, serialized)] as const).filter(([, l]) => l)
        : []
      const child = tableOf(target)
      if (got.length > 0 && !ownsKey(prop) && child) {
        const fk = target!.properties[prop!.mappedBy] as Prop | undefined
        const parents = got.map(([o]) => pk(m, o))
        const byKey = ownsKey(fk) && m.primaryKeys.length === 1 && !narrowed && !parents.includes(undefined)
        const where = [{ [fk?.name ?? '']: parents }]
        if (prop!.kind === 'm:n') out.push({ table: pivotOf(prop!) ?? child, whole: true })
        else out.push(byKey ? { table: child, where, watch: '*' } : { table: child, whole: true })
      }
      const reached = got.flatMap(([, l]) => (l && 'many' in l ? l.many : l?.one ? [l.one] : []))
      if (target) visit(target, reached, children ?? [], depth + 1)
    }
  }
  visit(meta, nodes, hints, 0)
  for (const [table, list] of rows) if (list.length > 0) out.push({ table, rows: list })
  return out
}
