import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import { type ForeignKeyFact, keyCombinations, primaryKeyOf, type SchemaFacts } from '@freshkey/core/adapter'
import type * as M from '@mikro-orm/core'
import { Reference, Utils } from '@mikro-orm/core'

export type Row = Record<string, unknown>
type Meta = M.EntityMetadata
type Prop = M.EntityProperty

/** Database table of an entity (the root's under single table inheritance); undefined for embeddables and virtual entities. */
export const tableOf = (meta: Meta | undefined): string | undefined =>
  !meta || meta.embeddable || meta.virtual || (meta.abstract && !meta.tableName)
    ? undefined
    : meta.tableName || undefined

/** A many-to-one, or the owning side of a one-to-one: the relation whose foreign key is in this table. */
export const ownsKey = (prop: Prop | undefined) =>
  prop?.kind === 'm:1' || (prop?.kind === '1:1' && !!prop.owner)

/** The pivot table of a many-to-many relation (set on both sides in MikroORM 6 and 7). */
export const pivotOf = (prop: Prop) => (prop.kind === 'm:n' ? prop.pivotTable?.split('.').pop() : undefined)

/** A value a row image or a filter can hold as is (raw SQL fragments, JSON and the like cannot). */
export const plain = (v: unknown) =>
  v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v) || v instanceof Date

/** A foreign key rule: the given one (explicit or the configured default), else what MikroORM 6 derives from `cascade`. */
const rule = (given: string | undefined, cascade: unknown, on: string) =>
  given ?? (Array.isArray(cascade) && [on, 'all'].some((c) => cascade.includes(c)) ? 'cascade' : undefined)

/**
 * The schema facts of an ORM's metadata: tables with their primary keys, and the foreign keys of
 * many-to-one and owning one-to-one relations (and table-per-type parents) with the rules the
 * schema generators of MikroORM 6 and 7 give them (`set null` for nullable relations by default).
 */
export function schemaFacts(
  metadata: M.MetadataStorage,
  rules: { defaultDeleteRule?: string; defaultUpdateRule?: string },
): SchemaFacts {
  const tables = new Map<string, readonly string[]>()
  const foreignKeys: ForeignKeyFact[] = []
  for (const meta of metadata) {
    const table = tableOf(meta)
    if (table === undefined) continue
    if (!tables.has(table) || meta === meta.root) tables.set(table, meta.root.primaryKeys)
    const parent = tableOf((meta as { tptParent?: Meta }).tptParent)
    const cascade = { onDelete: 'cascade', onUpdate: 'cascade' }
    if (parent) foreignKeys.push({ table, columns: meta.primaryKeys, references: parent, ...cascade })
    for (const prop of meta.props) {
      const target = prop.targetMeta
      if (!ownsKey(prop) || !tableOf(target) || prop.createForeignKeyConstraint === false) continue
      const refs = (prop.referencedColumnNames ?? []).map(
        (c) => target!.props.find((p) => p.fieldNames?.includes(c))?.name,
      )
      const onDelete = rule(prop.deleteRule ?? rules.defaultDeleteRule, prop.cascade, 'remove')
      foreignKeys.push({
        table,
        columns: [prop.name],
        references: tableOf(target)!,
        ...(refs.length > 0 && !refs.includes(undefined) ? { referencedColumns: refs as string[] } : {}),
        onDelete: onDelete || (prop.nullable ? 'set null' : onDelete),
        onUpdate: rule(prop.updateRule ?? rules.defaultUpdateRule, prop.cascade, 'persist'),
      })
    }
  }
  return { tables: [...tables].map(([name, primaryKey]) => ({ name, primaryKey })), foreignKeys }
}

/** A primitive key value, or the single-column key of an entity or reference. */
export function keyValue(value: unknown): PrimaryKeyValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'bigint') return value
  const pk = Utils.isEntity(value, true) ? pkOfEntity(value as object) : undefined
  return typeof pk === 'object' ? undefined : pk
}

/** Primary key of an entity or reference (composite: an object keyed by property name). */
export function pkOfEntity(entity: object): PrimaryKey | undefined {
  const target = Reference.unwrapReference(entity) as { __meta?: Meta }
  return target.__meta ? pkOf(target.__meta, target) : undefined
}

/** Primary key read from objects keyed by property names (entity, snapshot, data, row); a relation gives its key, a nested row its own. */
export function pkOf(meta: Meta, ...sources: readonly object[]): PrimaryKey | undefined {
  const read = (prop: string): PrimaryKeyValue | undefined => {
    const nested = meta.properties[prop]?.targetMeta?.primaryKeys
    for (const source of sources) {
      const raw = (source as Row)[prop]
      const v = keyValue(nested?.length === 1 && Utils.isPlainObject(raw) ? raw[nested[0]!] : raw)
      if (v !== undefined) return v
    }
    return undefined
  }
  return primaryKeyOf(meta.primaryKeys as string[], read)
}

/** More rows than this in one condition are a bulk write. */
const MAX_ROWS = 1000

/** The values a condition on one column allows: `v`, `{ $eq }`, `{ $in }`, an array, an entity; undefined when not only those. */
function keyValues(cond: unknown): PrimaryKeyValue[] | undefined {
  const single = keyValue(cond)
  if (single !== undefined) return [single]
  const [key, ...more] = Utils.isPlainObject(cond) && !Utils.isEntity(cond) ? Object.keys(cond) : []
  if (key === '$eq' && more.length === 0) return keyValues((cond as Row).$eq)
  const list = Array.isArray(cond) ? cond : key === '$in' && more.length === 0 ? (cond as Row).$in : undefined
  const out =
    Array.isArray(list) && list.length > 0 && list.length <= MAX_ROWS ? list.map(keyValue) : [undefined]
  return out.includes(undefined) ? undefined : (out as PrimaryKeyValue[])
}

/**
 * The primary keys a write condition pins; undefined: it may match rows we cannot name (bulk).
 * Conditions beside the key only narrow the rows: naming the pinned keys is a superset.
 */
export function pinnedKeys(meta: Meta, where: unknown, alias?: string): PrimaryKey[] | undefined {
  const pks = meta.primaryKeys as string[]
  if (Utils.isEntity(where, true)) {
    const pk = pkOfEntity(where)
    return pk === undefined ? undefined : [pk]
  }
  if (pks.length === 1 && (keyValue(where) !== undefined || Array.isArray(where))) return keyValues(where)
  if (pks.length === 0 || !Utils.isPlainObject(where)) return undefined
  const cond: Row = {}
  for (const [k, v] of Object.entries(where))
    cond[alias && k.startsWith(`${alias}.`) ? k.slice(alias.length + 1) : k] = v
  for (const branch of Array.isArray(cond.$and) ? cond.$and : []) {
    const pinned = pinnedKeys(meta, branch, alias)
    if (pinned) return pinned
  }
  return keyCombinations(pks, (pk) => keyValues(cond[pk]), MAX_ROWS)
}
