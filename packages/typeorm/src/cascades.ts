import type { EntityMetadata } from 'typeorm'

const ACTS = new Set(['CASCADE', 'SET NULL', 'SET DEFAULT'])

/**
 * Tables the database changes by itself when rows of another table are deleted or their keys
 * updated (`ON DELETE/UPDATE CASCADE | SET NULL | SET DEFAULT`), transitively. Those rows are
 * unknown, so they become bulk changes (ORM-NOTES pitfall 5). A self-reference lists the table itself.
 */
export class CascadeMap {
  readonly #onDelete = new Map<string, Set<string>>()
  readonly #onUpdate = new Map<string, Set<string>>()
  readonly #referencing = new Map<string, Set<string>>()
  /** Property paths of each table that an `ON UPDATE` action of another table follows. */
  readonly #followed = new Map<string, Set<string>>()

  constructor(metadatas: readonly EntityMetadata[]) {
    for (const md of metadatas) {
      for (const fk of md.foreignKeys) {
        const parent = fk.referencedEntityMetadata?.tableName
        if (!parent) continue
        add(this.#referencing, parent, md.tableName)
        if (ACTS.has(String(fk.onDelete ?? '').toUpperCase())) add(this.#onDelete, parent, md.tableName)
        if (ACTS.has(String(fk.onUpdate ?? '').toUpperCase())) {
          add(this.#onUpdate, parent, md.tableName)
          for (const c of fk.referencedColumns) add(this.#followed, parent, c.propertyPath)
        }
      }
    }
  }

  /** Tables a delete from `table` may change. */
  onDelete(table: string): string[] {
    return closure(this.#onDelete, table)
  }

  /** Tables a primary-key update in `table` may change. */
  onUpdate(table: string): string[] {
    return closure(this.#onUpdate, table)
  }

  /**
   * Tables an update of `table` may change: those whose `ON UPDATE` action follows a column the
   * update writes (a primary key or another referenced unique column). `changed` undefined: any.
   */
  onUpdateOf(table: string, changed: readonly string[] | undefined): string[] {
    const followed = this.#followed.get(table)
    if (!followed) return []
    if (changed !== undefined && !changed.some((c) => followed.has(c))) return []
    return this.onUpdate(table)
  }

  /** Every table that references `table`, transitively (what `TRUNCATE ... CASCADE` empties). */
  referencing(table: string): string[] {
    return closure(this.#referencing, table)
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key)
  if (!set) {
    set = new Set()
    map.set(key, set)
  }
  set.add(value)
}

function closure(map: Map<string, Set<string>>, start: string): string[] {
  const seen = new Set<string>()
  const queue = [start]
  while (queue.length > 0) {
    for (const next of map.get(queue.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return [...seen]
}
