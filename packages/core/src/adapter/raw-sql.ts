import { sqlTablesRead, sqlWriteTargets } from '../sql-tables.ts'
import type { SchemaGraph } from './schema-graph.ts'
import type { WriteFact } from './write-facts.ts'

/**
 * How raw SQL is attributed: `'parse'` (default) finds the tables a statement writes and widens
 * to every table when it cannot tell; `'all'` always invalidates every table; `'ignore'` records
 * nothing (the app calls `fk.invalidate(...)` itself). A function declares the tables of a
 * statement, returning `undefined` to fall back to parsing.
 */
export type RawSqlPolicy =
  | 'parse'
  | 'all'
  | 'ignore'
  | ((sql: string, parameters: readonly unknown[]) => readonly string[] | undefined)

const POLICIES: readonly unknown[] = ['parse', 'all', 'ignore']

/** True for a value the `rawSql` option takes (adapters check their options with it). */
export const isRawSqlPolicy = (value: unknown): value is RawSqlPolicy =>
  typeof value === 'function' || POLICIES.includes(value)

/** The write facts of a raw statement, one policy for every adapter. */
export function rawSqlFacts(
  graph: SchemaGraph,
  sql: string,
  parameters: readonly unknown[],
  policy: RawSqlPolicy = 'parse',
): WriteFact[] {
  if (policy === 'ignore') return []
  if (policy === 'all') return [...graph.tables].map((table) => ({ table, kind: 'bulk', verb: 'unknown' }))
  if (typeof policy === 'function') {
    const declared = policy(sql, parameters)
    if (declared) return declared.map((table) => ({ table, kind: 'bulk', verb: 'unknown' }))
  }
  return sqlWriteTargets(sql, graph.tables).map(({ table, verb, cascade }) => ({
    table,
    kind: 'bulk',
    verb: verb === 'merge' || verb === 'ddl' ? 'unknown' : verb,
    ...(cascade || verb === 'ddl' ? { cascade: true } : {}),
  }))
}

/**
 * Tables a raw read depends on, as a whole: the ones it names; every table when its text is
 * unknown, when it names none (a function may read any) or one freshkey does not know (a view, a
 * CTE): wider, never stale.
 */
export function rawReadTables(graph: SchemaGraph, sql: string | undefined): string[] {
  const named = sql === undefined ? [] : sqlTablesRead(sql, graph.tables)
  return named.length > 0 && named.every((t) => graph.tables.has(t)) ? named : [...graph.tables]
}
