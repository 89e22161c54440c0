import {
  type Configuration,
  type EntityMetadata,
  type EntityProperty,
  EntitySchema,
  type MetadataStorage,
  ReferenceKind,
} from '@mikro-orm/core'

/** Foreign key rules under which the database itself changes rows of the referencing table. */
const DB_SIDE_EFFECT = new Set(['cascade', 'set null', 'set default'])

const TO_ONE: ReadonlySet<string> = new Set([ReferenceKind.MANY_TO_ONE, ReferenceKind.ONE_TO_ONE])

/** What the adapter needs to know about one ORM's schema, computed lazily from its metadata. */
export class TableGraph {
  readonly #metadata: MetadataStorage
  readonly #config: Configuration
  #tables: Set<string> | undefined
  readonly #dependents = new Map<string, string[]>()
  readonly #byTable = new Map<string, EntityMetadata>()

  constructor(metadata: MetadataStorage, config: Configuration) {
    this.#metadata = metadata
    this.#config = config
  }

  /** Every entity metadata with a table (pivot entities included). */
  *entities(): Iterable<EntityMetadata> {
    for (const meta of this.#metadata) if (tableOfMeta(meta) !== undefined) yield meta
  }

  /** Every known table name. */
  tables(): ReadonlySet<string> {
    if (!this.#tables) {
      this.#tables = new Set()
      for (const meta of this.entities()) {
        this.#tables.add(tableOfMeta(meta)!)
        this.#byTable.set(tableOfMeta(meta)!, meta)
      }
    }
    return this.#tables
  }

  /** The entity metadata stored in a table (the root one for single table inheritance). */
  metaOfTable(table: string): EntityMetadata | undefined {
    this.tables()
    const meta = this.#byTable.get(table)
    return meta?.root ?? meta
  }

  /** Metadata of an entity class, `EntitySchema`, entity name or metadata object. */
  meta(target: unknown): EntityMetadata | undefined {
    if (target === null || target === undefined) return undefined
    if (target instanceof EntitySchema)
      return this.#find(target.meta.class) ?? this.#find(target.meta.className)
    if (typeof target === 'string') {
      return this.#find(target) ?? this.#metadata.getByClassName(target, false) ?? this.metaOfTable(target)
    }
    if (typeof target === 'function')
      return this.#find(target) ?? (target.prototype as { __meta?: EntityMetadata } | undefined)?.__meta
    if (typeof target === 'object' && '__meta' in target)
      return (target as { __meta?: EntityMetadata }).__meta
    if (
      typeof target === 'object' &&
      'className' in target &&
      'properties' in target &&
      'primaryKeys' in target
    ) {
      return target as EntityMetadata
    }
    return undefined
  }

  #find(name: unknown): EntityMetadata | undefined {
    try {
      return this.#metadata.find(name as never)
    } catch {
      return undefined
    }
  }

  /**
   * Tables whose rows the database changes when rows of `meta`'s table are deleted (`'delete'`)
   * or get a new primary key (`'update'`): foreign keys with `ON DELETE/UPDATE CASCADE | SET NULL | SET DEFAULT`.
   */
  dependents(meta: EntityMetadata, on: 'delete' | 'update'): readonly string[] {
    const table = tableOfMeta(meta)
    if (table === undefined) return []
    const cacheKey = `${on}\u0000${table}`
    const known = this.#dependents.get(cacheKey)
    if (known) return known
    // Cascades chain (A ← B ← C): the database follows every level, so do we (erring wide is safe).
    const out = new Set<string>()
    const queue = [table]
    while (queue.length > 0) {
      for (const next of this.#direct(queue.pop()!, on)) {
        if (!out.has(next)) {
          out.add(next)
          queue.push(next)
        }
      }
    }
    const list = [...out]
    this.#dependents.set(cacheKey, list)
    return list
  }

  /** Tables whose foreign keys to `table` carry a database-side action for `on`. */
  #direct(table: string, on: 'delete' | 'update'): string[] {
    const schema = (this.#config.get('schemaGenerator') ?? {}) as {
      defaultDeleteRule?: string
      defaultUpdateRule?: string
    }
    const fallback = on === 'delete' ? schema.defaultDeleteRule : schema.defaultUpdateRule
    const out: string[] = []
    for (const other of this.entities()) {
      for (const prop of Object.values(other.properties) as EntityProperty[]) {
        if (!TO_ONE.has(prop.kind) || (prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner)) continue
        if (prop.targetMeta === undefined || tableOfMeta(prop.targetMeta) !== table) continue
        const rule = String(
          (on === 'delete' ? prop.deleteRule : prop.updateRule) ?? fallback ?? '',
        ).toLowerCase()
        if (DB_SIDE_EFFECT.has(rule)) out.push(tableOfMeta(other)!)
      }
    }
    return out
  }

  /** Filters declared in the ORM config (their conditions are not part of cache keys). */
  globalFilters(): Record<string, unknown> {
    return (this.#config.get('filters') ?? {}) as Record<string, unknown>
  }

  /** Property name of a column of `meta`, or undefined. */
  propertyOfColumn(meta: EntityMetadata, column: string): string | undefined {
    if (Object.hasOwn(meta.properties, column)) return column
    for (const prop of Object.values(meta.properties) as EntityProperty[]) {
      if (prop.fieldNames?.includes(column)) return prop.name
    }
    return undefined
  }
}

/** Database table of an entity metadata, or undefined for embeddables and virtual entities. */
export function tableOfMeta(meta: EntityMetadata): string | undefined {
  if (meta.embeddable || meta.virtual || (meta.abstract && !meta.tableName)) return undefined
  return meta.tableName || undefined
}
