import type { CaptureError } from './errors.ts'

/** Options of `freshkeyMikroORM` and `FreshkeySubscriber`. */
export interface FreshkeyMikroOrmOptions {
  /**
   * Before images of updated/deleted rows of scoped tables (tables with `@Scope` or `fk.defineScope`):
   * - `'read'` (default): reads the scoped columns inside the writing transaction (`FOR UPDATE` on
   *   PostgreSQL), so a row another process moved meanwhile still invalidates the list it is in;
   * - `'missing'`: reads only when the identity map snapshot lacks a scoped field;
   * - `'none'`: never reads; the snapshot is used where it has the scoped fields, otherwise the
   *   whole scope is bumped.
   * Only updates that change a scoped field, and deletes, need a before image.
   */
  scopedBeforeImages?: 'read' | 'missing' | 'none'
  /**
   * Capture writes that bypass the unit of work: `nativeUpdate`, `nativeDelete`, `insert`,
   * `insertMany`, `clone`, QueryBuilder writes and `em.execute`. Default true.
   */
  silentWrites?: boolean
  /**
   * Tables a raw statement run with `em.execute` writes. Return `undefined` to use the default
   * parser (targets of INSERT/UPDATE/DELETE/TRUNCATE/MERGE/ALTER/DROP among the known tables; a
   * write naming no known table marks every known table), `[]` to ignore the statement.
   */
  rawSqlTables?: (sql: string, params: readonly unknown[]) => readonly string[] | undefined
  /** Told when capturing a committed write failed and a wider invalidation was recorded instead. */
  onError?: (error: CaptureError) => void
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  readonly scopedBeforeImages: 'read' | 'missing' | 'none'
  readonly silentWrites: boolean
  readonly rawSqlTables: FreshkeyMikroOrmOptions['rawSqlTables']
  readonly onError: (error: CaptureError) => void
}

export function resolveOptions(options: FreshkeyMikroOrmOptions = {}): ResolvedOptions {
  return {
    scopedBeforeImages: options.scopedBeforeImages ?? 'read',
    silentWrites: options.silentWrites ?? true,
    rawSqlTables: options.rawSqlTables,
    onError: options.onError ?? (() => {}),
  }
}
