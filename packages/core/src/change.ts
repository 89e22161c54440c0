import type { PrimaryKey } from './dependency.ts'

/** A row image keyed by entity property (model field) names: the names filters and scopes use. */
export type RowImage = Readonly<Record<string, unknown>>

/** One row written by insert, update or delete. */
export interface RowChange {
  /** Database table name. */
  readonly table: string
  readonly kind: 'insert' | 'update' | 'delete'
  /** Primary key of the row (composite: column → value). */
  readonly pk: PrimaryKey
  /**
   * The row as the write itself found it (a `DELETE … RETURNING`, the record a delete returns).
   * Never an image loaded earlier: another transaction may have changed the row since. Absent
   * means unknown; it is only needed for reads that do not name their member rows (counts).
   */
  readonly before?: RowImage
  /** The row after the write (may be partial: the values written); absent means unknown. */
  readonly after?: RowImage
  /** Names of the fields the write changed; absent means unknown (any field may have changed). */
  readonly changed?: readonly string[]
}

/** Rows of a table changed and which ones is unknown (bulk update/delete, raw SQL). */
export interface BulkChange {
  readonly table: string
  readonly kind: 'bulk'
}

/** What an adapter records for each write. */
export type Change = RowChange | BulkChange
