import { type Dependency, dep, sqlTablesRead } from '@freshkey/core'
import { type EntityMetadata, type EntityProperty, ReferenceKind } from '@mikro-orm/core'
import { type TableGraph, tableOfMeta } from './table-graph.ts'

const RELATION: ReadonlySet<string> = new Set([
  ReferenceKind.MANY_TO_ONE,
  ReferenceKind.ONE_TO_ONE,
  ReferenceKind.ONE_TO_MANY,
  ReferenceKind.MANY_TO_MANY,
])
const LOGICAL = new Set(['$and', '$or', '$not'])
const OPTIONS_WITH_PATHS = ['orderBy', 'populateWhere', 'populateOrderBy', 'fields', 'exclude'] as const

/**
 * The tables a MikroORM result cache key reads, as table dependencies, or `undefined` when the key
 * does not tell (a named key). Keys are `JSON.stringify([[schema, table, discriminator], method,
 * options, where])` for `em.find*`/`em.count` and `['qb.execute', sql, params, method]` for QueryBuilder.
 * Relations named in `where`, `populate`, `orderBy`, `fields`... add their tables; anything not
 * understood widens to every table reachable from the entity.
 */
export function cacheKeyTables(name: string, graph: TableGraph): string[] | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(name)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  if (parsed[0] === 'qb.execute' && typeof parsed[1] === 'string') {
    const known = graph.tables()
    return sqlTablesRead(parsed[1], known).filter((t) => known.has(t))
  }
  if (!Array.isArray(parsed[0]) || typeof parsed[0][1] !== 'string') return undefined
  const meta = graph.metaOfTable(parsed[0][1])
  if (!meta) return undefined
  const walk = new RelationWalk(graph)
  walk.add(meta)
  walk.options(meta, parsed[2])
  walk.where(meta, parsed[3])
  if (hasFilters(meta, graph)) walk.closure(meta)
  return [...walk.tables]
}

/** Dependencies of a result cache entry: its tables, or `dep.all()` when they are unknown. */
export function cacheKeyDeps(name: string, graph: TableGraph | undefined): Dependency[] | undefined {
  const tables = graph ? cacheKeyTables(name, graph) : undefined
  if (tables === undefined) return undefined
  return tables.length > 0 ? tables.map((t) => dep.table(t)) : [dep.all()]
}

function hasFilters(meta: EntityMetadata, graph: TableGraph): boolean {
  // Filter conditions are not in the key and may join other tables.
  return Object.keys(meta.filters ?? {}).length > 0 || Object.keys(graph.globalFilters()).length > 0
}

class RelationWalk {
  readonly tables = new Set<string>()
  readonly #graph: TableGraph
  readonly #closed = new Set<EntityMetadata>()

  constructor(graph: TableGraph) {
    this.#graph = graph
  }

  add(meta: EntityMetadata | undefined): void {
    const table = meta && tableOfMeta(meta)
    if (table !== undefined) this.tables.add(table)
  }

  /** Follows one relation property: its target table and, for many-to-many, its pivot table. */
  #follow(prop: EntityProperty): EntityMetadata | undefined {
    const target = prop.targetMeta
    this.add(target)
    if (prop.kind === ReferenceKind.MANY_TO_MANY) {
      const pivot = this.#graph.meta(prop.pivotEntity)
      if (pivot) this.add(pivot)
      else if (prop.pivotTable) this.tables.add(prop.pivotTable.split('.').pop()!)
    }
    return target
  }

  /** Every table reachable from `meta` through relations. */
  closure(meta: EntityMetadata): void {
    if (this.#closed.has(meta)) return
    this.#closed.add(meta)
    this.add(meta)
    for (const prop of Object.values(meta.properties) as EntityProperty[]) {
      if (prop.kind === ReferenceKind.EMBEDDED && prop.targetMeta) this.closure(prop.targetMeta)
      if (!RELATION.has(prop.kind)) continue
      const target = this.#follow(prop)
      if (target) this.closure(target)
    }
  }

  /** Resolves a dotted property path from `meta`; returns the metadata it ends on, undefined when unknown. */
  path(meta: EntityMetadata, path: string): EntityMetadata | undefined {
    let current: EntityMetadata | undefined = meta
    for (const segment of path.split('.')) {
      const name = segment.split(':')[0]!
      if (!current) return undefined
      if (name === '*' || name === '$infer') {
        this.closure(current)
        return current
      }
      const prop = current.properties[name] as EntityProperty | undefined
      if (!prop) {
        this.closure(meta)
        return undefined
      }
      if (prop.kind === ReferenceKind.EMBEDDED) current = prop.targetMeta ?? current
      else if (RELATION.has(prop.kind)) current = this.#follow(prop)
      else return current
    }
    return current
  }

  where(meta: EntityMetadata, cond: unknown): void {
    if (Array.isArray(cond)) {
      for (const c of cond) this.where(meta, c)
      return
    }
    if (cond === null || typeof cond !== 'object') return
    for (const [key, value] of Object.entries(cond)) {
      if (LOGICAL.has(key)) this.where(meta, value)
      else if (key.startsWith('$')) continue
      else {
        const target = this.path(meta, key)
        if (target && target !== meta) this.where(target, value)
        else if (target === meta && value !== null && typeof value === 'object')
          this.#nested(meta, key, value)
      }
    }
  }

  /** A condition under a scalar or embedded key holds only operators and embedded fields. */
  #nested(meta: EntityMetadata, key: string, value: object): void {
    const prop = meta.properties[key.split('.')[0]!] as EntityProperty | undefined
    if (prop?.kind === ReferenceKind.EMBEDDED && prop.targetMeta) this.where(prop.targetMeta, value)
  }

  options(meta: EntityMetadata, options: unknown): void {
    if (options === null || typeof options !== 'object') return
    const opts = options as Record<string, unknown>
    this.#populate(meta, opts.populate)
    for (const key of OPTIONS_WITH_PATHS) {
      const value = opts[key]
      if (typeof value === 'string') continue
      if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        for (const p of value) this.path(meta, p)
      else this.where(meta, value)
    }
  }

  #populate(meta: EntityMetadata, populate: unknown): void {
    if (populate === true) {
      this.closure(meta)
      return
    }
    if (!Array.isArray(populate)) return
    for (const item of populate) {
      if (typeof item === 'string') this.path(meta, item)
      else if (item && typeof item === 'object') {
        const { field, all, children } = item as { field?: string; all?: boolean; children?: unknown }
        if (typeof field !== 'string') continue
        const target = this.path(meta, field)
        if (all && target) this.closure(target)
        if (target && target !== meta) this.#populate(target, children)
      }
    }
  }
}
