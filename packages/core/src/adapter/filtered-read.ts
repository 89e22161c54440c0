import type { PrimaryKey } from '../dependency.ts'
import type { ReadRecord } from '../tracking.ts'
import type { Conjunction } from './conjunctions.ts'

/**
 * The read record of one table's filtered query: whole when its filter is not understood (`where`
 * undefined) or a returned row has no key; only rows when the filter names every row by key
 * (`pinned`, no conjunction left); else its conjunctions watched on `watch`, with the rows named
 * and returned. Without `returned` (a count, an aggregate) the result does not enumerate its rows.
 */
export function filteredRead(
  table: string,
  where: readonly Conjunction[] | undefined,
  pinned: readonly PrimaryKey[],
  returned: readonly (PrimaryKey | undefined)[] | undefined,
  watch: Iterable<string> | '*',
): ReadRecord {
  if (where === undefined || returned?.includes(undefined)) return { table, whole: true }
  const rows = [...pinned, ...((returned ?? []) as PrimaryKey[])]
  if (where.length === 0 && (rows.length > 0 || returned)) return { table, rows }
  const watched = watch === '*' ? ('*' as const) : [...watch]
  return { table, rows, where, watch: watched, ...(returned ? {} : { enumerates: false }) }
}
