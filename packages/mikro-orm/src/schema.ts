import type { ForeignKeyFact, SchemaFacts } from '@freshkey/core/adapter'
import {
  type EntityMetadata,
  type EntityProperty,
  type MetadataStorage,
  ReferenceKind,
} from '@mikro-orm/core'

/** Database table of an entity (the root's for single table inheritance); undefined for embeddables and virtual entities. */
export function tableOf(meta: EntityMetadata | undefined): string | undefined {
  if (!meta || meta.embeddable || meta.virtual || (meta.abstract && !meta.tableName)) return undefined
  return meta.tableName || undefined
}

/** A many-to-one, or the owning side of a one-to-one: the relation whose foreign key is in this table. */
export function ownsKey(prop: EntityProperty | undefined): boolean {
  return prop?.kind === ReferenceKind.MANY_TO_ONE || (prop?.kind === ReferenceKind.ONE_TO_ONE && !!prop.owner)
}

export const isToMany = (prop: EntityProperty | undefined): boolean =>
  prop?.kind === ReferenceKind.ONE_TO_MANY || prop?.kind === ReferenceKind.MANY_TO_MANY

/** The pivot table of a many-to-many relation. */
export function pivotOf(metadata: MetadataStorage, prop: EntityProperty): string | undefined {
  if (prop.kind !== ReferenceKind.MANY_TO_MANY) return undefined
  let pivot: EntityMetadata | undefined
  try {
    pivot = prop.pivotEntity ? metadata.find(prop.pivotEntity as never) : undefined
  } catch {
    pivot = undefined
  }
  return tableOf(pivot) ?? prop.pivotTable?.split('.').pop()
}

const has = (list: unknown, ...values: string[]) =>
  Array.isArray(list) && values.some((v) => list.includes(v))

/**
 * The schema graph facts of an ORM's metadata: tables with their primary-key properties, and the
 * foreign keys of many-to-one and owning one-to-one relations with the rules the schema generator
 * of MikroORM 6 or 7 gives them (explicit `deleteRule`/`updateRule`, the configured defaults, the
 * rules 6 derives from `cascade`, `set null` for nullable relations). Column names are property names.
 */
export function schemaFacts(
  metadata: MetadataStorage,
  defaults: { defaultDeleteRule?: string; defaultUpdateRule?: string },
): SchemaFacts {
  const tables = new Map<string, readonly string[]>()
  const foreignKeys: ForeignKeyFact[] = []
  for (const meta of metadata) {
    const table = tableOf(meta)
    if (table === undefined) continue
    if (!tables.has(table) || meta === meta.root) tables.set(table, [...(meta.root ?? meta).primaryKeys])
    const parent = (meta as { tptParent?: EntityMetadata }).tptParent
    if (parent && tableOf(parent))
      foreignKeys.push({
        table,
        columns: meta.primaryKeys,
        references: tableOf(parent)!,
        referencedColumns: parent.primaryKeys,
        onDelete: 'cascade',
        onUpdate: 'cascade',
      })
    for (const prop of Object.values(meta.properties) as EntityProperty[]) {
      const target = prop.targetMeta
      if (
        !ownsKey(prop) ||
        !target ||
        tableOf(target) === undefined ||
        prop.createForeignKeyConstraint === false
      )
        continue
      const referenced = (prop.referencedColumnNames ?? []).map(
        (column) =>
          (Object.values(target.properties) as EntityProperty[]).find((p) => p.fieldNames?.includes(column))
            ?.name,
      )
      foreignKeys.push({
        table,
        columns: [prop.name],
        references: tableOf(target)!,
        ...(referenced.length > 0 && referenced.every((c) => c !== undefined)
          ? { referencedColumns: referenced as string[] }
          : {}),
        onDelete:
          prop.deleteRule ??
          defaults.defaultDeleteRule ??
          (has(prop.cascade, 'remove', 'all') ? 'cascade' : prop.nullable ? 'set null' : undefined),
        onUpdate:
          prop.updateRule ??
          defaults.defaultUpdateRule ??
          (has(prop.cascade, 'persist', 'all') ? 'cascade' : undefined),
      })
    }
  }
  return { tables: [...tables].map(([name, primaryKey]) => ({ name, primaryKey })), foreignKeys }
}
