/** What a relation's foreign key does when the referenced row is deleted. */
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
  /** Implicit many-to-many join table (`_AToB`), when the relation has one. */
  readonly joinTable?: string
  /** `onDelete` of the foreign key on this side (only when `fields` is not empty). */
  readonly onDelete?: ReferentialAction
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
  /** Scalar field → column (`@map`). */
  readonly columns: Readonly<Record<string, string>>
  /** Fields set by `@updatedAt` on every update. */
  readonly updatedAt: readonly string[]
  /** Relation field → relation. */
  readonly relations: Readonly<Record<string, RelationMetadata>>
}

/** The module the `freshkey-prisma` generator writes; pass it as `freshkeyPrisma(fk, { metadata })`. */
export interface FreshkeyPrismaMetadata {
  /** Format version of this object. */
  readonly format: 1
  /** Datasource provider: `postgresql`, `sqlite`, `mysql`, `cockroachdb`, `sqlserver`. */
  readonly provider: string
  readonly models: Readonly<Record<string, ModelMetadata>>
}

/** The subset of Prisma's DMMF datamodel the generator reads (`@prisma/generator-helper` `DMMF.Datamodel`). */
export interface DmmfDatamodel {
  readonly models: readonly DmmfModel[]
}

interface DmmfModel {
  readonly name: string
  readonly dbName: string | null
  readonly schema?: string | null
  readonly primaryKey: { readonly name: string | null; readonly fields: readonly string[] } | null
  readonly fields: readonly DmmfField[]
}

interface DmmfField {
  readonly name: string
  readonly dbName?: string | null
  readonly kind: string
  readonly type: string
  readonly isId: boolean
  readonly isList: boolean
  readonly isRequired: boolean
  readonly isUpdatedAt?: boolean
  readonly relationName?: string | null
  readonly relationFromFields?: readonly string[]
  readonly relationToFields?: readonly string[]
  readonly relationOnDelete?: string | null
}

/** Turns the DMMF datamodel into freshkey's metadata. Pure: the generator and tests call it. */
export function buildMetadata(datamodel: DmmfDatamodel, provider: string): FreshkeyPrismaMetadata {
  const byName = new Map(datamodel.models.map((m) => [m.name, m]))
  const models: Record<string, ModelMetadata> = {}
  for (const m of datamodel.models) {
    const columns: Record<string, string> = {}
    const relations: Record<string, RelationMetadata> = {}
    const updatedAt: string[] = []
    for (const f of m.fields) {
      if (f.kind === 'object') {
        relations[f.name] = relationOf(m, f, byName)
        continue
      }
      if (f.kind !== 'scalar' && f.kind !== 'enum') continue
      columns[f.name] = f.dbName ?? f.name
      if (f.isUpdatedAt) updatedAt.push(f.name)
    }
    const primaryKey = m.primaryKey
      ? [...m.primaryKey.fields]
      : m.fields.filter((f) => f.isId).map((f) => f.name)
    models[m.name] = {
      table: m.dbName ?? m.name,
      ...(m.schema ? { schema: m.schema } : {}),
      primaryKey,
      ...(primaryKey.length > 1 ? { primaryKeyName: m.primaryKey?.name ?? primaryKey.join('_') } : {}),
      columns,
      updatedAt,
      relations,
    }
  }
  return { format: 1, provider, models }
}

function relationOf(model: DmmfModel, field: DmmfField, byName: Map<string, DmmfModel>): RelationMetadata {
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
  }
  if (fields.length > 0) {
    // Prisma's default: SetNull for an optional relation, Restrict for a required one.
    const onDelete = (field.relationOnDelete ??
      (fieldsRequired(model, fields) ? 'Restrict' : 'SetNull')) as ReferentialAction
    return { ...base, backFields: [], onDelete }
  }
  if (backFields.length > 0 || !field.isList || (opposite && !opposite.isList))
    return { ...base, backFields: [...backFields] }
  // Implicit many-to-many: Prisma keeps the pairs in `_<relationName>`.
  return { ...base, backFields: [], joinTable: `_${field.relationName}` }
}

function fieldsRequired(model: DmmfModel, names: readonly string[]): boolean {
  return names.every((n) => model.fields.find((f) => f.name === n)?.isRequired ?? false)
}
