/** A foreign key as an adapter reads it from ORM metadata (names are property/field names). */
export interface ForeignKeyFact {
  /** The referencing table. */
  readonly table: string
  /** Its columns that hold the reference; absent: unknown. */
  readonly columns?: readonly string[]
  /** The referenced table. */
  readonly references: string
  /** The referenced columns (usually the primary key); absent: unknown. */
  readonly referencedColumns?: readonly string[]
  /** `ON DELETE` action (`CASCADE`, `SET NULL`, `SET DEFAULT`, `RESTRICT`, `NO ACTION`), any case (`set_null`, `SetNull`). */
  readonly onDelete?: string
  /** `ON UPDATE` action. */
  readonly onUpdate?: string
}

/** The schema facts an adapter hands the kit: tables and foreign keys. */
export interface SchemaFacts {
  readonly tables: readonly {
    readonly name: string
    /** Primary-key fields (property names); empty when unknown. */
    readonly primaryKey?: readonly string[]
  }[]
  readonly foreignKeys: readonly ForeignKeyFact[]
}

const ACTS = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT'])
const acts = (action: string | undefined) =>
  ACTS.has(
    String(action ?? '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toUpperCase()
      .replace(/_/g, ' '),
  )

/**
 * Tables and the database's own side effects between them: which tables a delete or a key update
 * changes through `ON DELETE` / `ON UPDATE` actions, followed transitively (ORM-NOTES pitfall 5).
 * One implementation for every adapter.
 */
export class SchemaGraph {
  readonly tables: ReadonlySet<string>
  readonly #pk = new Map<string, readonly string[]>()
  readonly #incoming = new Map<string, ForeignKeyFact[]>()
  readonly #deletes = new Map<string, string[]>()
  readonly #followsUpdates = new Map<string, boolean>()

  constructor(facts: SchemaFacts) {
    this.tables = new Set(facts.tables.map((t) => t.name))
    for (const t of facts.tables) this.#pk.set(t.name, t.primaryKey ?? [])
    for (const fk of facts.foreignKeys) {
      const list = this.#incoming.get(fk.references) ?? []
      list.push(fk)
      this.#incoming.set(fk.references, list)
    }
  }

  /** Primary-key fields of a table (empty when unknown). */
  primaryKey(table: string): readonly string[] {
    return this.#pk.get(table) ?? []
  }

  /** Tables a delete from `table` may change (`ON DELETE CASCADE | SET NULL | SET DEFAULT`), transitively. */
  deleteCascades(table: string): string[] {
    let out = this.#deletes.get(table)
    if (out) return out
    const seen = new Set<string>()
    const queue = [table]
    while (queue.length > 0) {
      const t = queue.pop()!
      for (const fk of this.#incoming.get(t) ?? []) {
        if (!acts(fk.onDelete)) continue
        // SET NULL / SET DEFAULT change the rows without deleting them: no further delete from there,
        // but an update of their key columns, which other tables may follow.
        const cascade = String(fk.onDelete).toUpperCase() === 'CASCADE'
        if (!seen.has(fk.table)) {
          seen.add(fk.table)
          if (cascade) queue.push(fk.table)
          else for (const u of this.updateCascades(fk.table, fk.columns)) seen.add(u)
        }
      }
    }
    out = [...seen]
    this.#deletes.set(table, out)
    return out
  }

  /** False when no foreign key has an `ON UPDATE` action on `table`. */
  #followedOnUpdate(table: string): boolean {
    let follows = this.#followsUpdates.get(table)
    if (follows === undefined) {
      follows = (this.#incoming.get(table) ?? []).some((fk) => acts(fk.onUpdate))
      this.#followsUpdates.set(table, follows)
    }
    return follows
  }

  /**
   * Tables an update of `table` may change through `ON UPDATE` actions: those whose foreign key
   * follows a column the update wrote (`changed` undefined: any), and so on from the columns that
   * foreign key rewrites.
   */
  updateCascades(table: string, changed: readonly string[] | undefined): string[] {
    // Most tables: nothing follows their columns, and every update asks.
    if (!this.#followedOnUpdate(table)) return []
    const seen = new Set<string>()
    const queue: [string, readonly string[] | undefined][] = [[table, changed]]
    const visited = new Set<string>()
    while (queue.length > 0) {
      const [t, cols] = queue.pop()!
      const id = `${t}\u0000${cols?.join(',') ?? '*'}`
      if (visited.has(id)) continue
      visited.add(id)
      for (const fk of this.#incoming.get(t) ?? []) {
        if (!acts(fk.onUpdate)) continue
        const follows =
          cols === undefined ||
          fk.referencedColumns === undefined ||
          fk.referencedColumns.some((c) => cols.includes(c))
        if (!follows) continue
        seen.add(fk.table)
        queue.push([fk.table, fk.columns])
      }
    }
    return [...seen]
  }

  /** Every table that references `table`, transitively (what `TRUNCATE … CASCADE` empties). */
  referencing(table: string): string[] {
    const seen = new Set<string>()
    const queue = [table]
    while (queue.length > 0) {
      for (const fk of this.#incoming.get(queue.pop()!) ?? []) {
        if (!seen.has(fk.table)) {
          seen.add(fk.table)
          queue.push(fk.table)
        }
      }
    }
    return [...seen]
  }
}
