import type { Change } from '@freshkey/core'
import type { TypeORMAdapter } from './adapter.ts'
import { tablesWritten } from './sql-tables.ts'

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
  const known = adapter.knownTables
  const cascades = adapter.cascades
  const declared = adapter.options.rawTables?.(sql, parameters)
  const tables = new Set<string>()
  if (declared) {
    for (const t of declared) for (const u of [t, ...cascades.onDelete(t)]) tables.add(u)
  } else {
    if (adapter.options.rawQueries === 'ignore') return []
    const { tables: written, unknown } = tablesWritten(sql)
    if (unknown) for (const t of known) tables.add(t)
    for (const w of written) {
      const table = known.has(w.table) || !known.has(w.table.toLowerCase()) ? w.table : w.table.toLowerCase()
      tables.add(table)
      if (w.verb === 'delete' || w.verb === 'truncate' || w.verb === 'ddl')
        for (const t of cascades.onDelete(table)) tables.add(t)
      if (w.verb === 'update') for (const t of cascades.onUpdate(table)) tables.add(t)
      if (w.cascade || w.verb === 'ddl') for (const t of cascades.referencing(table)) tables.add(t)
    }
  }
  return [...tables].map(bulk)
}
