import type { PrimaryKey, PrimaryKeyValue } from '../dependency.ts'
import { combinations } from './conjunctions.ts'

/** The primary keys of the {@link combinations} of key values: a single field's values, else objects keyed by field. */
export function keyCombinations(
  fields: readonly string[],
  valuesOf: (field: string) => readonly PrimaryKeyValue[] | undefined,
  max: number,
): PrimaryKey[] | undefined {
  // One key field (most tables): its values are the keys, no combination objects to build.
  if (fields.length === 1) {
    const values = valuesOf(fields[0]!)
    return values && values.length <= max ? [...values] : undefined
  }
  return combinations(fields, valuesOf, max)
}

/**
 * A primary key from the value of each key field: the value of a single field, else an object
 * keyed by field; undefined when a field has no key value.
 */
export function primaryKeyOf(
  fields: readonly string[],
  keyValueOf: (field: string) => PrimaryKeyValue | undefined,
): PrimaryKey | undefined {
  const values = fields.map(keyValueOf)
  if (values.includes(undefined)) return undefined
  return fields.length === 1 ? values[0] : Object.fromEntries(fields.map((f, i) => [f, values[i]!]))
}
