import { MetadataError } from './errors.ts'
import type { FreshkeyPrismaMetadata, RelationMetadata } from './metadata.ts'

/** A relation field, resolved against the index. */
export interface RelationInfo extends RelationMetadata {
  readonly name: string
  /** The relation's name in the schema; fallback mode uses `_<relationName>` as a possible join table. */
  readonly relationName?: string
}

/** What the extension knows about one model. */
export interface ModelInfo {
  /** Model name, as Prisma's query hooks report it (`Post`). */
  readonly name: string
  /** Client property of the model (`post`). */
  readonly key: string
  /** Database table used in changes and dependencies (`schema.table` when the model has a `@@schema`). */
  readonly table: string
  /** Table name without schema. */
  readonly bareTable: string
  readonly schema?: string
  /** Primary-key fields; empty when unknown (no generator metadata). */
  readonly pk: readonly string[]
  /** Compound `where` name of a composite primary key. */
  readonly pkName?: string
  /** Scalar field → column. */
  readonly columns: Readonly<Record<string, string>>
  readonly updatedAt: readonly string[]
  readonly relations: ReadonlyMap<string, RelationInfo>
}

/** Prisma's generated runtime data model (what every client carries, generator or not). */
export interface RuntimeDataModel {
  readonly models: Readonly<
    Record<
      string,
      {
        readonly dbName: string | null
        readonly schema?: string | null
        readonly fields: readonly {
          name: string
          kind: string
          type: string
          relationName?: string
          dbName?: string | null
        }[]
      }
    >
  >
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

/** Models, tables, keys and relations: from generator metadata (precise) or the runtime data model (table level). */
export class ModelIndex {
  /** True when built from `freshkey-prisma` generator metadata; false in the table-level fallback. */
  readonly precise: boolean
  readonly provider: string | undefined
  readonly #models = new Map<string, ModelInfo>()
  readonly #byKey = new Map<string, ModelInfo>()
  readonly #deleteClosure = new Map<string, readonly string[]>()
  readonly #relatedClosure = new Map<string, readonly string[]>()

  private constructor(precise: boolean, provider: string | undefined, models: ModelInfo[]) {
    this.precise = precise
    this.provider = provider
    for (const m of models) {
      this.#models.set(m.name, m)
      this.#byKey.set(m.key, m)
    }
  }

  /** Index over generator metadata. */
  static fromMetadata(metadata: FreshkeyPrismaMetadata): ModelIndex {
    if (metadata?.format !== 1 || typeof metadata.models !== 'object') {
      throw new MetadataError(
        '`metadata` is not the module written by the freshkey-prisma generator (format 1)',
      )
    }
    const models = Object.entries(metadata.models).map(([name, m]): ModelInfo => {
      const relations = new Map(
        Object.entries(m.relations).map(([field, r]) => [field, { ...r, name: field }]),
      )
      return {
        name,
        key: lowerFirst(name),
        table: m.schema ? `${m.schema}.${m.table}` : m.table,
        bareTable: m.table,
        ...(m.schema ? { schema: m.schema } : {}),
        pk: m.primaryKey,
        ...(m.primaryKeyName ? { pkName: m.primaryKeyName } : {}),
        columns: m.columns,
        updatedAt: m.updatedAt,
        relations,
      }
    })
    return new ModelIndex(true, metadata.provider, models)
  }

  /** Table-level fallback over the runtime data model: no keys, relation sides unknown. */
  static fromRuntime(rdm: RuntimeDataModel): ModelIndex {
    const models = Object.entries(rdm.models).map(([name, m]): ModelInfo => {
      const columns: Record<string, string> = {}
      const relations = new Map<string, RelationInfo>()
      for (const f of m.fields) {
        if (f.kind === 'object') {
          relations.set(f.name, {
            name: f.name,
            target: f.type,
            list: true,
            fields: [],
            references: [],
            backFields: [],
            ...(f.relationName ? { relationName: f.relationName, joinTable: `_${f.relationName}` } : {}),
          })
        } else columns[f.name] = f.dbName ?? f.name
      }
      const bare = m.dbName ?? name
      return {
        name,
        key: lowerFirst(name),
        table: m.schema ? `${m.schema}.${bare}` : bare,
        bareTable: bare,
        ...(m.schema ? { schema: m.schema } : {}),
        pk: [],
        columns,
        updatedAt: [],
        relations,
      }
    })
    return new ModelIndex(false, undefined, models)
  }

  /** A model by name (`Post`) or client property (`post`). */
  model(name: string): ModelInfo | undefined {
    return this.#models.get(name) ?? this.#byKey.get(name)
  }

  get models(): IterableIterator<ModelInfo> {
    return this.#models.values()
  }

  /** Every table the index knows, join tables included. */
  allTables(): string[] {
    const out = new Set<string>()
    for (const m of this.#models.values()) {
      out.add(m.table)
      for (const r of m.relations.values()) if (r.joinTable) out.add(r.joinTable)
    }
    return [...out]
  }

  /**
   * Tables whose rows a delete of `model` rows may change in the database: `ON DELETE CASCADE`
   * (transitively), `SET NULL`/`SET DEFAULT`, implicit many-to-many join rows. Fallback: every
   * table related to the model, transitively.
   */
  deleteEffects(model: ModelInfo): readonly string[] {
    if (!this.precise) return this.related(model)
    let out = this.#deleteClosure.get(model.name)
    if (out) return out
    const tables = new Set<string>()
    const seen = new Set<string>([model.name])
    const queue = [model]
    while (queue.length > 0) {
      const m = queue.pop()!
      for (const r of m.relations.values()) if (r.joinTable) tables.add(r.joinTable)
      for (const other of this.#models.values()) {
        for (const r of other.relations.values()) {
          if (r.target !== m.name || r.fields.length === 0) continue
          if (r.onDelete === 'Cascade' || r.onDelete === 'SetNull' || r.onDelete === 'SetDefault')
            tables.add(other.table)
          if (r.onDelete === 'Cascade' && !seen.has(other.name)) {
            seen.add(other.name)
            queue.push(other)
          }
        }
      }
    }
    tables.delete(model.table)
    out = [...tables]
    this.#deleteClosure.set(model.name, out)
    return out
  }

  /**
   * Tables whose foreign keys follow when `fields` of `model` rows change (`ON UPDATE CASCADE`, the
   * default): models referencing those fields, and join tables when a key field changes.
   */
  updateEffects(model: ModelInfo, fields: readonly string[] | undefined): readonly string[] {
    if (!this.precise) return this.related(model)
    const tables = new Set<string>()
    const touches = (names: readonly string[]) =>
      fields === undefined || names.some((n) => fields.includes(n))
    if (touches(model.pk)) for (const r of model.relations.values()) if (r.joinTable) tables.add(r.joinTable)
    for (const other of this.#models.values()) {
      for (const r of other.relations.values()) {
        if (r.target === model.name && r.fields.length > 0 && touches(r.references)) tables.add(other.table)
      }
    }
    tables.delete(model.table)
    return [...tables]
  }

  /** Fallback: every table reachable through relations, and the possible join tables on the way. */
  related(model: ModelInfo): readonly string[] {
    let out = this.#relatedClosure.get(model.name)
    if (out) return out
    const tables = new Set<string>()
    const seen = new Set<string>([model.name])
    const queue = [model]
    while (queue.length > 0) {
      const m = queue.pop()!
      for (const r of m.relations.values()) {
        if (r.joinTable) tables.add(r.joinTable)
        const t = this.#models.get(r.target)
        if (t && !seen.has(t.name)) {
          seen.add(t.name)
          tables.add(t.table)
          queue.push(t)
        }
      }
    }
    tables.delete(model.table)
    out = [...tables]
    this.#relatedClosure.set(model.name, out)
    return out
  }
}
