import type { PrimaryKey } from '@freshkey/core'
import type { ReadFrame, ReadRecord } from '@freshkey/core/adapter'
import {
  type EntityMetadata,
  type EntityProperty,
  helper,
  type MetadataStorage,
  Reference,
  ReferenceKind,
  Utils,
} from '@mikro-orm/core'
import { pkOf, pkOfEntity } from './conditions.ts'
import { queryRecords } from './filter-query.ts'
import { isToMany, ownsKey, pivotOf, tableOf } from './schema.ts'

type Node = Record<string, unknown>

/** A normalized populate hint. */
export interface Hint {
  readonly field: string
  readonly children?: readonly Hint[]
}

/** Marks a frame and its enclosing ones: what they load is served, never stored. */
export function unsafe(frame: ReadFrame): void {
  for (let f: ReadFrame | undefined = frame; f; f = f.parent) f.unsafe = true
}

/**
 * Call before a query runs: reads the fences of tables the loads have not seen yet (DESIGN
 * rule 1). A query inside a database transaction may see uncommitted rows: its loads are not stored.
 */
export async function fence(
  frames: readonly ReadFrame[],
  tables: Iterable<string>,
  inTransaction: boolean,
): Promise<void> {
  const list = [...tables]
  for (const frame of frames) {
    if (inTransaction) unsafe(frame)
    const p = frame.beforeQuery(list)
    if (p) await p
  }
}

export function report(frames: readonly ReadFrame[], records: readonly ReadRecord[]): void {
  for (const frame of frames) for (const r of records) frame.read(r)
}

/** Tables populate hints reach (targets and pivot tables), added to `out`. */
export function hintTables(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  hints: unknown,
  out: Set<string>,
): void {
  if (!Array.isArray(hints)) return
  for (const hint of hints as Hint[]) {
    const prop = meta.properties[String(hint?.field ?? '').split(':')[0]!] as EntityProperty | undefined
    if (!prop?.targetMeta) continue
    const table = tableOf(prop.targetMeta)
    if (table) out.add(table)
    const pivot = pivotOf(metadata, prop)
    if (pivot) out.add(pivot)
    hintTables(metadata, prop.targetMeta, hint.children, out)
  }
}

/** Every table reachable from `meta` through relations (what a serialized entity can hold). */
export function reachableTables(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  out = new Set<string>(),
): Set<string> {
  const table = tableOf(meta)
  if (table === undefined || out.has(table)) return out
  out.add(table)
  for (const prop of meta.relations ?? []) {
    const pivot = pivotOf(metadata, prop)
    if (pivot) out.add(pivot)
    if (prop.targetMeta) reachableTables(metadata, prop.targetMeta, out)
  }
  return out
}

/** What a loaded relation holds: a node, a list of nodes, or nothing loaded (undefined). */
type Access = (node: Node, prop: EntityProperty) => { one: Node | null } | { many: Node[] } | undefined

/** Entities: initialized references and collections only (walking never loads anything). */
const entityAccess: Access = (node, prop) => {
  const value = node[prop.name]
  if (isToMany(prop)) {
    const coll = value as
      | { isInitialized?: () => boolean; getItems?: (check?: boolean) => Node[] }
      | undefined
    return coll?.isInitialized?.() ? { many: coll.getItems!(false) } : undefined
  }
  if (value === null) return { one: null }
  const target = Reference.unwrapReference(value as object) as Node | undefined
  return target && helper(target).isInitialized() ? { one: target } : undefined
}

/** Serialized entities (a result-cache entry): nested objects and arrays are loaded relations. */
const dataAccess: Access = (node, prop) => {
  const value = node[prop.name]
  if (Array.isArray(value)) return { many: value.filter(Utils.isPlainObject) as Node[] }
  if (value === null && !ownsKey(prop)) return { one: null }
  return Utils.isPlainObject(value) ? { one: value as Node } : undefined
}

const MAX_DEPTH = 8

/**
 * Read records of loaded entities and their relations (`hints`, or every loaded relation for
 * serialized data): rows of every node; to-many relations and inverse one-to-ones are a filter on
 * the child's foreign key (`{ article: [1, 2] }`), watched on every field (`populateWhere` may
 * have narrowed them); many-to-many pivot tables whole (their writes are bulk).
 */
export function graphRecords(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  nodes: readonly Node[],
  hints: readonly Hint[] | 'all',
  serialized: boolean,
  narrowed = false,
): ReadRecord[] {
  const rows = new Map<string, PrimaryKey[]>()
  const out: ReadRecord[] = []
  const access = serialized ? dataAccess : entityAccess
  const pk = (m: EntityMetadata, n: Node) => (serialized ? pkOf(m, n) : pkOfEntity(n))
  const visit = (
    m: EntityMetadata,
    items: readonly Node[],
    level: readonly Hint[] | 'all',
    depth: number,
  ) => {
    const table = tableOf(m)
    if (table === undefined || items.length === 0 || depth > MAX_DEPTH) return
    const list = rows.get(table) ?? []
    for (const item of items) {
      const k = pk(m, item)
      if (k === undefined) out.push({ table, whole: true })
      else list.push(k)
    }
    rows.set(table, list)
    const follow: [EntityProperty, readonly Hint[] | 'all'][] =
      level === 'all'
        ? (m.relations ?? []).map((p) => [p, 'all'])
        : level.flatMap((h) => {
            const p = m.properties[h.field.split(':')[0]!] as EntityProperty | undefined
            return p?.targetMeta ? [[p, h.children ?? []] as [EntityProperty, Hint[]]] : []
          })
    for (const [prop, children] of follow) {
      const target = prop.targetMeta!
      const owners: Node[] = []
      const reached: Node[] = []
      for (const item of items) {
        const got = access(item, prop)
        if (!got) continue
        owners.push(item)
        if ('many' in got) reached.push(...got.many)
        else if (got.one) reached.push(got.one)
      }
      if (owners.length === 0) continue
      if (!ownsKey(prop)) {
        const child = tableOf(target)
        const fk = target.properties[prop.mappedBy] as EntityProperty | undefined
        const parents = owners.map((o) => pk(m, o))
        if (prop.kind === ReferenceKind.MANY_TO_MANY)
          out.push({ table: pivotOf(metadata, prop) ?? child!, whole: true })
        else if (
          child &&
          ownsKey(fk) &&
          m.primaryKeys.length === 1 &&
          !narrowed &&
          parents.every((p) => p !== undefined)
        )
          out.push({ table: child, where: [{ [fk!.name]: parents }], watch: '*' })
        else if (child) out.push({ table: child, whole: true })
      }
      visit(target, reached, children, depth + 1)
    }
  }
  visit(meta, nodes, hints, 0)
  for (const [table, list] of rows) if (list.length > 0) out.push({ table, rows: list })
  return out
}

/** The read records of one `driver.find` / `driver.count` call (joined relations: see `graphRecords`). */
export function driverRecords(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  where: unknown,
  options: Record<string, unknown> | undefined,
  result: readonly Node[] | undefined,
): ReadRecord[] {
  let rows: PrimaryKey[] | undefined = result ? [] : undefined
  for (const r of result ?? []) {
    const k = pkOf(meta, r)
    if (k === undefined) {
      rows = undefined
      break
    }
    rows!.push(k)
  }
  return queryRecords(metadata, meta, where, options, rows)
}
