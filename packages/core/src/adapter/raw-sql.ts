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
 * The tables a statement that names `named` may touch: those, when it names some and freshkey
 * knows each of them; else every table (a view, a CTE or a function may stand for any).
 */
export function knownTables(graph: SchemaGraph, named: readonly string[]): string[] {
  return named.length > 0 && named.every((t) => graph.tables.has(t)) ? [...named] : [...graph.tables]
}

/** Tables a raw read depends on, as a whole: {@link knownTables} of the ones its text names (every table when unknown). */
export const rawReadTables = (graph: SchemaGraph, sql: string | undefined): string[] =>
  knownTables(graph, sql === undefined ? [] : sqlTablesRead(sql, graph.tables))

/**
 * The tables each view reads, through the views it reads in turn (8 deep at most): parsed from its
 * SQL, every table when its SQL is unknown. `views`: view name → its SQL.
 */
export function viewTables(
  views: ReadonlyMap<string, string | undefined>,
  known: ReadonlySet<string>,
): Map<string, string[]> {
  const read = (sql: string | undefined, depth: number): string[] =>
    (sql ? sqlTablesRead(sql, known) : [...known]).flatMap((t) =>
      views.has(t) && depth < 8 ? read(views.get(t), depth + 1) : [t],
    )
  return new Map([...views].map(([name, sql]) => [name, [...new Set(read(sql, 0))]]))
}

/** SQL text of a query object: a string, a fragment with `sql`, a Knex or Kysely query (`toSQL()`, `toRaw()`). */
export function sqlTextOf(query: any): string | undefined {
  if (typeof query === 'string' || typeof query?.sql === 'string') return query.sql ?? query
  try {
    const sql = (query?.toSQL ?? query?.toRaw)?.call(query)?.sql
    return typeof sql === 'string' ? sql : undefined
  } catch {
    return undefined
  }
}

/** Table names anywhere in a Kysely operation node (targets, joins, subqueries): wider than written, never narrower. */
export function kyselyTables(node: any, out = new Set<string>(), depth = 0): Set<string> {
  const name = node?.kind === 'TableNode' ? node.table?.identifier?.name : undefined
  if (typeof name === 'string') out.add(name)
  for (const value of node && typeof node === 'object' && depth < 32 ? Object.values(node) : [])
    kyselyTables(value, out, depth + 1)
  return out
}
