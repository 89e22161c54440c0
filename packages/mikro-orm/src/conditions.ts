import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import { type EntityMetadata, Reference, Utils } from '@mikro-orm/core'

/** More rows than this in one condition are recorded as a bulk change. */
const MAX_ROWS = 1000

/**
 * The primary keys a write condition pins, or `undefined` when it may match rows we cannot name
 * (then the write is recorded as a bulk change). Extra conditions beside the key only narrow the
 * rows, so naming the pinned keys is always a superset of what changed.
 */
export function pinnedKeys(meta: EntityMetadata, where: unknown, alias?: string): PrimaryKey[] | undefined {
  const pks = meta.primaryKeys as string[]
  if (pks.length === 0) return undefined
  if (Utils.isEntity(where, true)) {
    const pk = pkOfEntity(where as object)
    return pk === undefined ? undefined : [pk]
  }
  if (isKeyValue(where)) return pks.length === 1 ? [keyValue(where)!] : undefined
  if (Array.isArray(where)) return keysOfList(pks, where)
  if (!Utils.isPlainObject(where)) return undefined
  const cond = stripAlias(where as Record<string, unknown>, alias)
  if (Array.isArray(cond.$and)) {
    for (const branch of cond.$and) {
      const pinned = pinnedKeys(meta, branch, alias)
      if (pinned) return pinned
    }
  }
  const choices: PrimaryKeyValue[][] = []
  for (const pk of pks) {
    const values = valuesOf(cond[pk])
    if (!values) return undefined
    choices.push(values)
  }
  if (pks.length === 1) return choices[0]!.length > MAX_ROWS ? undefined : choices[0]
  if (choices.reduce((n, c) => n * c.length, 1) > MAX_ROWS) return undefined
  let combos: Record<string, PrimaryKeyValue>[] = [{}]
  pks.forEach((pk, i) => {
    combos = combos.flatMap((prefix) => choices[i]!.map((v) => ({ ...prefix, [pk]: v })))
  })
  return combos
}

function stripAlias(cond: Record<string, unknown>, alias: string | undefined): Record<string, unknown> {
  if (!alias) return cond
  const prefix = `${alias}.`
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(cond)) out[k.startsWith(prefix) ? k.slice(prefix.length) : k] = v
  return out
}

function keysOfList(pks: string[], list: readonly unknown[]): PrimaryKey[] | undefined {
  if (list.length === 0 || list.length > MAX_ROWS) return undefined
  const out: PrimaryKey[] = []
  for (const item of list) {
    if (pks.length === 1) {
      const v = keyValue(item)
      if (v === undefined) return undefined
      out.push(v)
    } else {
      if (!Array.isArray(item) || item.length !== pks.length) return undefined
      const row: Record<string, PrimaryKeyValue> = {}
      for (let i = 0; i < pks.length; i++) {
        const v = keyValue(item[i])
        if (v === undefined) return undefined
        row[pks[i]!] = v
      }
      out.push(row)
    }
  }
  return out
}

/** The values a condition on one column allows: `v`, `{ $eq: v }`, `{ $in: [...] }`, an entity reference. */
function valuesOf(cond: unknown): PrimaryKeyValue[] | undefined {
  const single = keyValue(cond)
  if (single !== undefined) return [single]
  if (!Utils.isPlainObject(cond)) return undefined
  const keys = Object.keys(cond)
  if (keys.length !== 1) return undefined
  const inner = (cond as Record<string, unknown>)[keys[0]!]
  if (keys[0] === '$eq') return valuesOf(inner)
  if (keys[0] === '$in' && Array.isArray(inner) && inner.length > 0) {
    const out: PrimaryKeyValue[] = []
    for (const v of inner) {
      const k = keyValue(v)
      if (k === undefined) return undefined
      out.push(k)
    }
    return out
  }
  return undefined
}

function isKeyValue(value: unknown): boolean {
  return keyValue(value) !== undefined
}

/** A primitive key value, or the single-column key of an entity reference. */
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

/** Primary key of an entity or reference: a value, or an object keyed by property name when composite. */
export function pkOfEntity(entity: object): PrimaryKey | undefined {
  const target = Reference.isReference(entity) ? (entity as Reference<object>).unwrap() : entity
  const meta = (target as { __meta?: EntityMetadata }).__meta
  return meta ? pkOf(meta, target) : undefined
}

/**
 * Primary key read from an object keyed by property names (an entity, a snapshot or a payload).
 * Relation values (entities, references or their keys) give their own key.
 */
export function pkOf(meta: EntityMetadata, ...sources: readonly object[]): PrimaryKey | undefined {
  const pks = meta.primaryKeys as string[]
  const read = (prop: string): PrimaryKeyValue | undefined => {
    for (const source of sources) {
      const v = keyValue((source as Record<string, unknown>)[prop])
      if (v !== undefined) return v
    }
    return undefined
  }
  if (pks.length === 1) return read(pks[0]!)
  const out: Record<string, PrimaryKeyValue> = {}
  for (const pk of pks) {
    const v = read(pk)
    if (v === undefined) return undefined
    out[pk] = v
  }
  return out
}
