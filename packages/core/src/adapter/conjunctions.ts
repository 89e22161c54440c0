/** A conjunction of equalities on one table: field → value, or an "any of" array (`IN`); `null` is `IS NULL`. */
export type Conjunction = Record<string, unknown>

/**
 * The conjunctions of `a AND b`: each of `a` with each of `b`. A field in both keeps `a`'s
 * condition, so the result is wider than the filter, never narrower.
 */
export const andConjunctions = (a: readonly Conjunction[], b: readonly Conjunction[]): Conjunction[] =>
  a.flatMap((x) => b.map((y) => ({ ...y, ...x })))

/**
 * Every combination of the values a condition allows each field (`a IN (1, 2) AND b = 3`: `{ a: 1,
 * b: 3 }` and `{ a: 2, b: 3 }`); undefined when `valuesOf` cannot name a field's values or there
 * are more than `max` combinations.
 */
export function combinations<V>(
  fields: readonly string[],
  valuesOf: (field: string) => readonly V[] | undefined,
  max: number,
): Record<string, V>[] | undefined {
  let out: Record<string, V>[] = [{}]
  for (const field of fields) {
    const values = valuesOf(field)
    if (!values) return undefined
    out = out.flatMap((c) => values.map((v) => ({ ...c, [field]: v })))
    if (out.length > max) return undefined
  }
  return out
}

/**
 * The rows whose `fields` hold one of `keys` (the children of some parents, by their foreign key):
 * one `IN` for a single field, one conjunction per key for several. A key with a `null` matches no
 * row; one with an unknown (`undefined`) value makes the filter unknown.
 */
export function referencingFilter(
  keys: readonly (readonly unknown[])[],
  fields: readonly string[],
): Conjunction[] | undefined {
  if (keys.some((k) => k.includes(undefined))) return undefined
  const present = keys.filter((k) => !k.includes(null))
  if (fields.length === 1) return [{ [fields[0]!]: [...new Set(present.map((k) => k[0]))] }]
  return present.map((k) => Object.fromEntries(fields.map((f, i) => [f, k[i]])))
}
