import { type Change, sqlWriteTargets } from '@freshkey/core'
import type { TypeORMAdapter } from './adapter.ts'

const bulk = (table: string): Change => ({ table, kind: 'bulk' })

/**
 * Changes of a raw statement: the tables `rawTables` declares, else the tables parsed from the
 * SQL, plus what the database cascades. A write whose table cannot be found invalidates every
 * table of the data source: wide, never stale.
 */
export function rawChanges(
  adapter: TypeORMAdapter,
  sql: string,
  parameters: readonly unknown[] | undefined,
): Change[] {
  const cascades = adapter.cascades
  const declared = adapter.options.rawTables?.(sql, parameters)
  const tables = new Set<string>()
  if (declared) {
    for (const t of declared) for (const u of [t, ...cascades.onDelete(t)]) tables.add(u)
  } else {
    if (adapter.options.rawQueries === 'ignore') return []
    for (const { table, verb, cascade } of sqlWriteTargets(sql, adapter.knownTables)) {
      tables.add(table)
      if (verb === 'delete' || verb === 'merge' || verb === 'truncate' || verb === 'ddl')
        for (const t of cascades.onDelete(table)) tables.add(t)
      if (verb === 'update' || verb === 'merge') for (const t of cascades.onUpdate(table)) tables.add(t)
      if (cascade || verb === 'ddl') for (const t of cascades.referencing(table)) tables.add(t)
    }
  }
  return [...tables].map(bulk)
}
