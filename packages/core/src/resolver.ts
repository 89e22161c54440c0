import type { PrimaryKey } from './dependency.ts'

/** How an ORM adapter tells freshkey what an entity is. Registered with `fk.registerResolver`. */
export interface EntityResolver {
  /** Table and primary key of an entity/record this ORM knows; `undefined` when it is not one. */
  identify(entity: object): { table: string; pk: PrimaryKey } | undefined
  /** Database table of an entity class, schema or model token; `undefined` when unknown. */
  tableOf(target: unknown): string | undefined
}
