import type { PrimaryKey } from '@freshkey/core'
import type { ReadRecord } from '@freshkey/core/adapter'
import {
  type EntityMetadata,
  type EntityProperty,
  type MetadataStorage,
  ReferenceKind,
  Utils,
} from '@mikro-orm/core'
import { keyValue } from './conditions.ts'
import { ownsKey, pivotOf, tableOf } from './schema.ts'

/** One conjunction of equalities: property → value, "any of" array, or null. */
export type Conjunction = Record<string, unknown>

/** Filters that expand to more alternatives than this depend on the whole table. */
const MAX_CONJUNCTIONS = 32
const NOT = Symbol('not understood')

const scalarValue = (v: unknown) =>
  v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v) || v instanceof Date
    ? v
    : (keyValue(v) ?? NOT)

/** The value of an equality on one column (`v`, `null`, `{ $eq }`, `{ $in }`, an array = IN), or NOT. */
function equality(prop: EntityProperty, value: unknown, nested = false): unknown {
  const type = prop.customType?.constructor?.name
  if (type === 'JsonType' || type === 'ArrayType' || prop.array) return NOT
  if (Array.isArray(value)) {
    if (nested) return NOT
    const values = value.map(scalarValue)
    return values.includes(NOT) ? NOT : values
  }
  if (Utils.isPlainObject(value)) {
    const keys = Object.keys(value)
    if (keys.length !== 1) return NOT
    const inner = (value as Record<string, unknown>)[keys[0]!]
    if (keys[0] === '$eq') return equality(prop, inner, true)
    if (keys[0] === '$in' && Array.isArray(inner)) return equality(prop, inner)
    const target = prop.targetMeta
    // `{ author: { id: 1 } }`: an equality on the foreign key.
    if (ownsKey(prop) && target?.primaryKeys.length === 1 && keys[0] === target.primaryKeys[0])
      return equality(prop, inner)
    return NOT
  }
  return scalarValue(value)
}

function fieldValue(meta: EntityMetadata, key: string, value: unknown): unknown {
  const prop = meta.properties[key] as EntityProperty | undefined
  if (!prop || prop.persist === false || prop.formula) return NOT
  if (prop.kind === ReferenceKind.SCALAR) return equality(prop, value)
  if (ownsKey(prop) && prop.targetMeta?.primaryKeys.length === 1) return equality(prop, value)
  return NOT
}

const and = (a: Conjunction[], b: Conjunction[]) => a.flatMap((x) => b.map((y) => ({ ...y, ...x })))

/**
 * A MikroORM filter as a disjunction of conjunctions of equalities (`$and`, small `$or`, `$eq`,
 * `$in`, arrays, `null`, foreign keys), or undefined when it holds anything else (ranges, `$ne`,
 * `$like`, `$not`, relation conditions, raw SQL): then the read depends on the whole table.
 * A repeated field keeps its first condition: wider, never narrower.
 */
export function conjunctions(meta: EntityMetadata, where: unknown): Conjunction[] | undefined {
  if (where === undefined || where === null) return [{}]
  const pks = meta.primaryKeys as string[]
  if (pks.length === 1 && (Array.isArray(where) || keyValue(where) !== undefined))
    where = { [pks[0]!]: where }
  if (!Utils.isPlainObject(where)) return undefined
  let out: Conjunction[] = [{}]
  for (const [key, value] of Object.entries(where as Record<string, unknown>)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value)) return undefined
      const parts = value.map((sub) => conjunctions(meta, sub))
      if (parts.some((p) => p === undefined)) return undefined
      out =
        key === '$and'
          ? parts.reduce<Conjunction[]>((acc, p) => and(acc, p!), out)
          : and(
              out,
              parts.flatMap((p) => p!),
            )
    } else {
      const v = fieldValue(meta, key, value)
      if (v === NOT || key.startsWith('$')) return undefined
      out = out.map((c) => (Object.hasOwn(c, key) ? c : { ...c, [key]: v }))
    }
    if (out.length > MAX_CONJUNCTIONS) return undefined
  }
  return out
}

/** Tables a filter reaches through relation conditions (joins and subqueries), added to `out`. */
export function relatedTables(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  where: unknown,
  out: Set<string>,
): void {
  if (Array.isArray(where)) for (const w of where) relatedTables(metadata, meta, w, out)
  if (!Utils.isPlainObject(where)) return
  for (const [key, value] of Object.entries(where as Record<string, unknown>)) {
    if (key.startsWith('$')) {
      relatedTables(metadata, meta, value, out)
      continue
    }
    const prop = meta.properties[key.split('.')[0]!] as EntityProperty | undefined
    if (!prop?.targetMeta || prop.kind === ReferenceKind.SCALAR) continue
    if (prop.kind === ReferenceKind.EMBEDDED) {
      relatedTables(metadata, prop.targetMeta, value, out)
      continue
    }
    if (ownsKey(prop) && fieldValue(meta, key, value) !== NOT) continue
    const table = tableOf(prop.targetMeta)
    if (table) out.add(table)
    const pivot = pivotOf(metadata, prop)
    if (pivot) out.add(pivot)
    relatedTables(metadata, prop.targetMeta, value, out)
  }
}

/** Order fields of `orderBy` (object or list of objects); undefined when one is not a column of the entity. */
function orderFields(meta: EntityMetadata, orderBy: unknown): string[] | undefined {
  const out: string[] = []
  for (const o of Array.isArray(orderBy) ? orderBy : [orderBy]) {
    if (o === undefined || o === null) continue
    if (!Utils.isPlainObject(o)) return undefined
    for (const [key, dir] of Object.entries(o as Record<string, unknown>)) {
      const prop = meta.properties[key] as EntityProperty | undefined
      if (!prop || Utils.isPlainObject(dir) || !(prop.kind === ReferenceKind.SCALAR || ownsKey(prop)))
        return undefined
      out.push(key)
    }
  }
  return out
}

/** What the options of a read do that a filter record cannot express. */
const OPAQUE = ['groupBy', 'having', 'unionWhere'] as const

/**
 * The read record of a query's own table: its rows, its filter as conjunctions (a lookup by
 * primary key: the keys asked), the fields whose change may alter it (filter and order fields);
 * `count`: a result that names no rows. Relation conditions add whole-table records.
 */
export function queryRecords(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  where: unknown,
  options: Record<string, unknown> | undefined,
  rows: PrimaryKey[] | undefined,
): ReadRecord[] {
  const table = tableOf(meta)
  if (table === undefined) return []
  const related = new Set<string>()
  relatedTables(metadata, meta, where, related)
  const out: ReadRecord[] = [...related].filter((t) => t !== table).map((t) => ({ table: t, whole: true }))
  const conjs =
    OPAQUE.some((o) => options?.[o] !== undefined && !Utils.isEmpty(options[o])) || meta.pivotTable
      ? undefined
      : conjunctions(meta, where)
  const order = rows ? orderFields(meta, options?.orderBy) : []
  if (!conjs || !order || related.has(table)) return [...out, { table, whole: true }]
  const pks = meta.primaryKeys as string[]
  const lookup =
    conjs.length === 1 &&
    pks.length === 1 &&
    Object.keys(conjs[0]!).join() === pks[0] &&
    conjs[0]![pks[0]!] !== null
  if (lookup && rows) {
    const asked = conjs[0]![pks[0]!]
    return [...out, { table, rows: [...rows, ...(Array.isArray(asked) ? asked : [asked])] as PrimaryKey[] }]
  }
  const fields = new Set(conjs.flatMap((c) => Object.keys(c)))
  return [
    ...out,
    {
      table,
      where: conjs,
      watch: [...new Set([...fields, ...order])],
      ...(rows ? { rows } : { enumerates: false }),
    },
  ]
}
