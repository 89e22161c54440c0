import type { ForeignKeyFact, SchemaFacts } from '@freshkey/core/adapter'
import { MetadataError } from './errors.ts'
import type { FreshkeyPrismaMetadata, ModelMetadata, RelationMetadata } from './metadata.ts'

export interface RelationInfo extends RelationMetadata {
  readonly name: string
}

/** One model as the extension uses it: metadata, its name and its table (`schema.table` under `@@schema`). */
export interface ModelInfo extends Omit<ModelMetadata, 'relations'> {
  readonly name: string
  readonly relations: ReadonlyMap<string, RelationInfo>
}

/** The runtime data model every Prisma client carries (to check that the metadata matches it). */
export interface RuntimeDataModel {
  readonly models: Readonly<Record<string, { readonly dbName: string | null }>>
}

/** Models by name (`Post`) and client property (`post`), from the generator's metadata. */
export class ModelIndex {
  readonly #models = new Map<string, ModelInfo>()

  constructor(metadata: FreshkeyPrismaMetadata, rdm: RuntimeDataModel | undefined) {
    if (metadata?.format !== 2 || typeof metadata.models !== 'object')
      throw new MetadataError(
        '`metadata` is not what this version of the freshkey-prisma generator writes (format 2): run `prisma generate` again',
      )
    for (const [name, m] of Object.entries(metadata.models)) {
      const relations = new Map(
        Object.entries(m.relations).map(([field, r]) => [field, { ...r, name: field }]),
      )
      const info: ModelInfo = { ...m, name, table: m.schema ? `${m.schema}.${m.table}` : m.table, relations }
      this.#models.set(name, info).set(name.charAt(0).toLowerCase() + name.slice(1), info)
    }
    // Generator output of another schema version names other tables: refuse it rather than invalidate the wrong keys.
    for (const [name, m] of Object.entries(rdm?.models ?? {})) {
      const table = metadata.models[name]?.table
      if (table !== (m.dbName ?? name))
        throw new MetadataError(
          `the freshkey metadata does not match this client (model ${name}: ${table ?? 'missing'}); run \`prisma generate\` again`,
        )
    }
  }

  model(name: string): ModelInfo | undefined {
    return this.#models.get(name)
  }

  /** Tables, keys and foreign keys (join tables' included) for the kit's schema graph. */
  facts(): SchemaFacts {
    const tables = new Map<string, readonly string[]>()
    const foreignKeys: ForeignKeyFact[] = []
    for (const m of new Set(this.#models.values())) {
      tables.set(m.table, m.primaryKey)
      for (const r of m.relations.values()) {
        const target = this.#models.get(r.target)
        if (target && r.fields.length > 0)
          foreignKeys.push({
            table: m.table,
            columns: r.fields,
            references: target.table,
            referencedColumns: r.references,
            ...(r.onDelete ? { onDelete: r.onDelete } : {}),
            ...(r.onUpdate ? { onUpdate: r.onUpdate } : {}),
          })
        else if (r.joinTable && r.joinColumn) {
          // Prisma's implicit many-to-many tables follow both sides: ON DELETE / ON UPDATE CASCADE.
          tables.set(r.joinTable, [])
          foreignKeys.push({
            table: r.joinTable,
            columns: [r.joinColumn],
            references: m.table,
            referencedColumns: m.primaryKey,
            onDelete: 'CASCADE',
            onUpdate: 'CASCADE',
          })
        }
      }
    }
    return { tables: [...tables].map(([name, primaryKey]) => ({ name, primaryKey })), foreignKeys }
  }
}
