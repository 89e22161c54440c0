import type { DMMF } from '@prisma/generator-helper'

/** A referential action as the Prisma schema spells it. */
export type ReferentialAction = 'Cascade' | 'SetNull' | 'SetDefault' | 'Restrict' | 'NoAction'

/** One relation field of a model, as the `freshkey-prisma` generator saw it in the schema. */
export interface RelationMetadata {
  /** Model at the other end. */
  readonly target: string
  /** True for a to-many field (`Post[]`). */
  readonly list: boolean
  /** Foreign-key fields on this model (`@relation(fields: [...])`); empty when the key lives elsewhere. */
  readonly fields: readonly string[]
  /** Fields of `target` that `fields` reference. */
  readonly references: readonly string[]
  /** Foreign-key fields on the target model pointing back here; empty when the key lives here or in a join table. */
  readonly backFields: readonly string[]
  /** Fields of this model that `backFields` reference. */
  readonly backReferences: readonly string[]
  /** Implicit many-to-many join table (`_AToB`), when the relation has one. */
  readonly joinTable?: string
  /** Column of the join table that holds this model's key (`A` or `B`). */
  readonly joinColumn?: 'A' | 'B'
  /** `onDelete` of the foreign key on this side (only when `fields` is not empty). */
  readonly onDelete?: ReferentialAction
  /** `onUpdate` of the foreign key on this side (only when `fields` is not empty). */
  readonly onUpdate?: ReferentialAction
}

/** One model. Field names are model (property) names; `table` and `columns` are database names. */
export interface ModelMetadata {
  /** Database table (`@@map`), without schema. */
  readonly table: string
  /** Database schema (`@@schema`), when the schema declares one. */
  readonly schema?: string
  /** Primary-key fields (`@id` or `@@id`, in declaration order); empty when the model has none. */
  readonly primaryKey: readonly string[]
  /** Name of the compound `where` input of a composite primary key (`userId_groupId`). */
  readonly primaryKeyName?: string
  /** Compound unique `where` inputs (primary key included): name → fields. */
  readonly compoundUniques: Readonly<Record<string, readonly string[]>>
  /** Scalar field → column (`@map`). */
  readonly columns: Readonly<Record<string, string>>
  /** Scalar field → Prisma type (`Int`, `String`, `Json`, `String[]` for lists). */
  readonly types: Readonly<Record<string, string>>
  /** Fields set by `@updatedAt` on every update. */
  readonly updatedAt: readonly string[]
  /** Relation field → relation. */
  readonly relations: Readonly<Record<string, RelationMetadata>>
}

/** The module the `freshkey-prisma` generator writes; pass it as `freshkeyPrisma(fk, { metadata })`. */
export interface FreshkeyPrismaMetadata {
  /** Format version of this object. */
  readonly format: 2
  /** Datasource provider: `postgresql`, `sqlite`, `mysql`, `cockroachdb`, `sqlserver`. */
  readonly provider: string
  /** `prisma`: referential actions are emulated by Prisma (`relationMode = "prisma"`); else the database's. */
  readonly relationMode: 'foreignKeys' | 'prisma'
  readonly models: Readonly<Record<string, ModelMetadata>>
}

/** Turns the DMMF datamodel into freshkey's metadata. Pure: the generator and tests call it. */
export function buildMetadata(
  datamodel: Pick<DMMF.Datamodel, 'models'>,
  provider: string,
  relationMode: FreshkeyPrismaMetadata['relationMode'] = 'foreignKeys',
): FreshkeyPrismaMetadata {
  const byName = new Map(datamodel.models.map((m) => [m.name, m]))
  const models: Record<string, ModelMetadata> = {}
  for (const m of datamodel.models) {
    const columns: Record<string, string> = {}
    const types: Record<string, string> = {}
    const relations: Record<string, RelationMetadata> = {}
    const updatedAt: string[] = []
    for (const f of m.fields) {
      if (f.kind === 'object') relations[f.name] = relationOf(m, f, byName)
      else if (f.kind === 'scalar' || f.kind === 'enum') {
        columns[f.name] = f.dbName ?? f.name
        types[f.name] = f.isList ? `${f.type}[]` : f.type
        if (f.isUpdatedAt) updatedAt.push(f.name)
      }
    }
    const primaryKey = m.primaryKey
      ? [...m.primaryKey.fields]
      : m.fields.filter((f) => f.isId).map((f) => f.name)
    const compoundUniques: Record<string, readonly string[]> = {}
    for (const u of [...(m.primaryKey ? [m.primaryKey] : []), ...(m.uniqueIndexes ?? [])])
      if (u.fields.length > 1) compoundUniques[u.name ?? u.fields.join('_')] = [...u.fields]
    models[m.name] = {
      table: m.dbName ?? m.name,
      ...(m.schema ? { schema: m.schema } : {}),
      primaryKey,
      ...(primaryKey.length > 1 ? { primaryKeyName: m.primaryKey?.name ?? primaryKey.join('_') } : {}),
      compoundUniques,
      columns,
      types,
      updatedAt,
      relations,
    }
  }
  return { format: 2, provider, relationMode, models }
}

/** `relationMode` of the datasource block of a schema text. */
export function relationModeOf(schema: string): FreshkeyPrismaMetadata['relationMode'] {
  return /datasource\s+\w+\s*\{[^}]*\brelationMode\s*=\s*"prisma"/.test(schema) ? 'prisma' : 'foreignKeys'
}

function relationOf(model: DMMF.Model, field: DMMF.Field, byName: Map<string, DMMF.Model>): RelationMetadata {
  const target = byName.get(field.type)
  const fields = field.relationFromFields ?? []
  const opposite = target?.fields.find(
    (f) =>
      f.kind === 'object' && f.relationName === field.relationName && f.type === model.name && f !== field,
  )
  const backFields = opposite?.relationFromFields ?? []
  const base = {
    target: field.type,
    list: field.isList,
    fields: [...fields],
    references: [...(field.relationToFields ?? [])],
    backFields: [...backFields],
    backReferences: [...(opposite?.relationToFields ?? [])],
  }
  if (fields.length > 0) {
    // Prisma's defaults: onDelete SetNull for an optional relation, Restrict for a required one; onUpdate Cascade.
    const required = fields.every((n) => model.fields.find((f) => f.name === n)?.isRequired ?? false)
    const onDelete = (field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull')) as ReferentialAction
    const onUpdate = (field.relationOnUpdate ?? 'Cascade') as ReferentialAction
    return { ...base, onDelete, onUpdate }
  }
  if (backFields.length > 0 || !field.isList || (opposite && !opposite.isList)) return base
  // Implicit many-to-many: Prisma keeps the pairs in `_<relationName>`, column A for the model whose name sorts first.
  const first =
    model.name < field.type || (model.name === field.type && (opposite ? field.name < opposite.name : true))
  return { ...base, joinTable: `_${field.relationName}`, joinColumn: first ? 'A' : 'B' }
}
