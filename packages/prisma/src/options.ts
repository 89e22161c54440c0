import type { FreshkeyPrismaMetadata } from './metadata.ts'

/** What a raw write statement touches: every known table, these tables, or a function of the SQL text. */
export type RawTables = 'all' | readonly string[] | ((sql: string) => 'all' | readonly string[])

/** Options of {@link freshkeyPrisma}. */
export interface FreshkeyPrismaOptions {
  /**
   * The module the `freshkey-prisma` generator writes (`import { metadata } from './generated/freshkey/index.js'`).
   * Without it the extension knows no primary keys or foreign keys and invalidates whole tables (and warns once).
   */
  metadata?: FreshkeyPrismaMetadata
  /** Scopes per model name, e.g. `{ Article: ['published', 'category'] }`; same as `fk.defineScope(table, fields)`. */
  scopes?: Readonly<Record<string, readonly string[] | readonly (readonly string[])[]>>
  /**
   * Tables a raw write (`$executeRaw*`, a writing `$queryRaw*`) invalidates: `'all'` (default) every
   * table of the schema, a list of database table names, or a function of the SQL text.
   */
  rawTables?: RawTables
  /**
   * Read the scoped columns of a row (locking it on PostgreSQL/MySQL) in the write's transaction before
   * an update or upsert of a scoped model, so a row moving between filters invalidates both. Default true;
   * off, such writes invalidate the model's whole scopes.
   */
  beforeImages?: boolean
  /** Mark returned records with their model for `fk.keyFor(record)`. Default true. */
  markRecords?: boolean
  /** Receives each distinct warning once (fallback mode, a transaction freshkey did not see start). Default `console.warn`. */
  onWarning?: (message: string) => void
}
