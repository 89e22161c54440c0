import type { Change, RowChange, RowImage } from '../change.ts'
import { canonicalPk, type PrimaryKey } from '../dependency.ts'
import type { SchemaGraph } from './schema-graph.ts'

/** What an adapter saw a write do, in ORM terms; the kit turns it into changes (one rule, once). */
export type WriteFact =
  | {
      readonly table: string
      readonly kind: 'insert'
      readonly pk: PrimaryKey
      readonly after?: RowImage
    }
  | {
      readonly table: string
      readonly kind: 'update'
      readonly pk: PrimaryKey
      /** The key after the write when the write changed it. */
      readonly newPk?: PrimaryKey
      readonly after?: RowImage
      /** Only an image the write itself returned (never one loaded earlier). */
      readonly before?: RowImage
      readonly changed?: readonly string[]
    }
  | {
      readonly table: string
      readonly kind: 'delete'
      readonly pk: PrimaryKey
      /** Only an image the write itself returned (never one loaded earlier). */
      readonly before?: RowImage
    }
  | {
      readonly table: string
      /** Rows unknown: what the statement did to them, for the database's side effects. */
      readonly kind: 'bulk'
      readonly verb?: 'insert' | 'update' | 'delete' | 'truncate' | 'unknown'
      /** Fields an update wrote (`undefined`: unknown). */
      readonly changed?: readonly string[]
      /** `TRUNCATE … CASCADE`. */
      readonly cascade?: boolean
    }

/** What a bulk statement did to the rows of a table it wrote. */
type Verb = NonNullable<Extract<WriteFact, { kind: 'bulk' }>['verb']>

/** A statement wrote rows of `table` it cannot name (`changed`: the fields an update set). */
export const bulkFact = (table: string, verb: Verb = 'unknown', changed?: readonly string[]): WriteFact =>
  changed ? { table, kind: 'bulk', verb, changed } : { table, kind: 'bulk', verb }

/** {@link bulkFact}s of every table, what they did unknown. */
export const bulkFacts = (tables: Iterable<string>): WriteFact[] => [...tables].map((t) => bulkFact(t))

const bulk = (table: string): Change => ({ table, kind: 'bulk' })

function encodable(pk: PrimaryKey | undefined): boolean {
  if (pk === undefined) return false
  try {
    canonicalPk(pk)
    return true
  } catch {
    return false
  }
}

function samePk(a: PrimaryKey, b: PrimaryKey): boolean {
  try {
    return canonicalPk(a) === canonicalPk(b)
  } catch {
    return false
  }
}

/**
 * The changes of one write: a changed primary key is the old row leaving and a new one arriving
 * (ORM-NOTES pitfall 7), the database's `ON DELETE`/`ON UPDATE` actions become bulk changes of the
 * tables they rewrite, and a key that cannot be encoded widens to its table — wider, never stale.
 */
export function changesOf(graph: SchemaGraph | undefined, fact: WriteFact): Change[] {
  const { table } = fact
  const deletes = () => (graph ? graph.deleteCascades(table).map(bulk) : [])
  const updates = (changed: readonly string[] | undefined) =>
    graph ? graph.updateCascades(table, changed).map(bulk) : []
  switch (fact.kind) {
    case 'insert':
      return [
        encodable(fact.pk)
          ? { table, kind: 'insert', pk: fact.pk, ...(fact.after ? { after: fact.after } : {}) }
          : bulk(table),
      ]
    case 'delete':
      return [
        encodable(fact.pk)
          ? { table, kind: 'delete', pk: fact.pk, ...(fact.before ? { before: fact.before } : {}) }
          : bulk(table),
        ...deletes(),
      ]
    case 'update': {
      if (!encodable(fact.pk) || (fact.newPk !== undefined && !encodable(fact.newPk)))
        return [bulk(table), ...updates(fact.changed)]
      if (fact.newPk !== undefined && !samePk(fact.pk, fact.newPk)) {
        const keyFields = graph?.primaryKey(table)
        return [
          { table, kind: 'delete', pk: fact.pk, ...(fact.before ? { before: fact.before } : {}) },
          { table, kind: 'insert', pk: fact.newPk, ...(fact.after ? { after: fact.after } : {}) },
          ...updates(keyFields && keyFields.length > 0 ? [...keyFields, ...(fact.changed ?? [])] : undefined),
        ]
      }
      const change: { -readonly [K in keyof RowChange]: RowChange[K] } = {
        table,
        kind: 'update',
        pk: fact.pk,
      }
      if (fact.before) change.before = fact.before
      if (fact.after) change.after = fact.after
      if (fact.changed) change.changed = fact.changed
      const out: Change[] = [change]
      for (const c of updates(fact.changed)) out.push(c)
      return out
    }
    case 'bulk': {
      const out: Change[] = [bulk(table)]
      const verb = fact.verb ?? 'unknown'
      if (verb === 'delete' || verb === 'truncate' || verb === 'unknown') out.push(...deletes())
      if (verb === 'update' || verb === 'unknown')
        out.push(...updates(verb === 'update' ? fact.changed : undefined))
      if (fact.cascade && graph) out.push(...graph.referencing(table).map(bulk))
      return out
    }
  }
}

/** Deduplicates bulk changes (one per table) and drops row changes of tables that also changed in bulk. */
export function compact(changes: readonly Change[]): Change[] {
  // Row changes alone (a single-row write) have nothing to merge.
  if (!changes.some((c) => c.kind === 'bulk')) return changes.slice()
  const bulkTables = new Set(changes.filter((c) => c.kind === 'bulk').map((c) => c.table))
  const out: Change[] = []
  const seen = new Set<string>()
  for (const c of changes) {
    if (c.kind === 'bulk') {
      if (seen.has(c.table)) continue
      seen.add(c.table)
      out.push(c)
    } else if (!bulkTables.has(c.table)) out.push(c)
  }
  return out
}
