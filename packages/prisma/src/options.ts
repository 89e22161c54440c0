import type { BindingOptions } from '@freshkey/core/adapter'
import type { FreshkeyPrismaMetadata } from './metadata.ts'

/** Options of {@link freshkeyPrisma}; `rawSql` and `onError` are every adapter's (see `BindingOptions`). */
export interface FreshkeyPrismaOptions extends BindingOptions {
  /**
   * The module the `freshkey-prisma` generator writes (`import { metadata } from './generated/freshkey/index.js'`).
   * Without it the extension knows no primary keys or foreign keys and invalidates whole tables (reported once).
   */
  metadata?: FreshkeyPrismaMetadata
  /** Scopes per model name, e.g. `{ Article: ['published', 'category'] }`; same as `fk.defineScope(table, fields)`. */
  scopes?: Readonly<Record<string, readonly string[] | readonly (readonly string[])[]>>
  /** Mark returned records with their model for `fk.keyFor(record)`. Default true. */
  markRecords?: boolean
}
