import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import { type EntityMetadata, Reference, Utils } from '@mikro-orm/core'

/** More rows than this in one condition are a bulk write. */
const MAX_ROWS = 1000

type Row = Record<string, unknown>

/** A primitive key value, or the single-column key of an entity or reference. */
export function keyValue(value: unknown): PrimaryKeyValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'bigint') return value
  if (Utils.isEntity(value, true)) {
    const pk = pkOfEntity(value as object)
    return typeof pk === 'object' ? undefined : pk
  }
  return undefined
}

/** Primary key of an entity or reference (composite: an object keyed by property name). */
export function pkOfEntity(entity: object): PrimaryKey | undefined {
  const target = Reference.isReference(entity) ? (entity as Reference<object>).unwrap() : entity
  const meta = (target as { __meta?: EntityMetadata }).__meta
  return meta ? pkOf(meta, target) : undefined
}

/** Primary key read from objects keyed by property names (entity, snapshot, payload, row); relations give their key. */
export function pkOf(meta: EntityMetadata, ...sources: readonly object[]): PrimaryKey | undefined {
  const read = (prop: string): PrimaryKeyValue | undefined => {
    for (const source of sources) {
      const v = keyValue((source as Row)[prop]) ?? nestedKey(meta, prop, (source as Row)[prop])
      if (v !== undefined) return v
    }
    return undefined
  }
  const pks = meta.primaryKeys as string[]
  if (pks.length === 1) return read(pks[0]!)
  const out: Record<string, PrimaryKeyValue> = {}
  for (const pk of pks) {
    const v = read(pk)
    if (v === undefined) return undefined
    out[pk] = v
  }
  return out
}

/** The key of a relation given as a row of its target (`{ id: 1, name: 'Ada' }`). */
function nestedKey(meta: EntityMetadata, prop: string, value: unknown): PrimaryKeyValue | undefined {
  const target = meta.properties[prop]?.targetMeta
  if (!target || !Utils.isPlainObject(value) || target.primaryKeys.length !== 1) return undefined
  return keyValue((value as Row)[target.primaryKeys[0]!])
}

/** The values a condition on one column allows: `v`, `{ $eq: v }`, `{ $in: [...] }`, an entity; undefined when not only those. */
export function keyValues(cond: unknown): PrimaryKeyValue[] | undefined {
  const single = keyValue(cond)
  if (single !== undefined) return [single]
  if (Array.isArray(cond)) return listOf(cond)
  if (!Utils.isPlainObject(cond)) return undefined
  const keys = Object.keys(cond)
  if (keys.length !== 1) return undefined
  const inner = (cond as Row)[keys[0]!]
  if (keys[0] === '$eq') return keyValues(inner)
  return keys[0] === '$in' && Array.isArray(inner) ? listOf(inner) : undefined
}

function listOf(values: readonly unknown[]): PrimaryKeyValue[] | undefined {
  const out: PrimaryKeyValue[] = []
  for (const v of values) {
    const k = keyValue(v)
    if (k === undefined) return undefined
    out.push(k)
  }
  return out.length > 0 ? out : undefined
}

/**
 * The primary keys a write condition pins, or undefined when it may match rows we cannot name
 * (a bulk write). Conditions beside the key only narrow the rows: naming the pinned keys is a superset.
 */
export function pinnedKeys(meta: EntityMetadata, where: unknown, alias?: string): PrimaryKey[] | undefined {
  const pks = meta.primaryKeys as string[]
  if (pks.length === 0) return undefined
  if (Utils.isEntity(where, true)) {
    const pk = pkOfEntity(where as object)
    return pk === undefined ? undefined : [pk]
  }
  if (pks.length === 1 && (keyValue(where) !== undefined || Array.isArray(where)))
    return cap(keyValues(where))
  if (!Utils.isPlainObject(where)) return undefined
  const cond: Row = {}
  for (const [k, v] of Object.entries(where as Row))
    cond[alias && k.startsWith(`${alias}.`) ? k.slice(alias.length + 1) : k] = v
  if (Array.isArray(cond.$and))
    for (const branch of cond.$and) {
      const pinned = pinnedKeys(meta, branch, alias)
      if (pinned) return pinned
    }
  let combos: Record<string, PrimaryKeyValue>[] = [{}]
  for (const pk of pks) {
    const values = keyValues(cond[pk])
    if (!values) return undefined
    combos = combos.flatMap((prefix) => values.map((v) => ({ ...prefix, [pk]: v })))
    if (combos.length > MAX_ROWS) return undefined
  }
  return pks.length === 1 ? combos.map((c) => c[pks[0]!]!) : combos
}

const cap = <T>(list: T[] | undefined): T[] | undefined =>
  list && list.length <= MAX_ROWS ? list : undefined
