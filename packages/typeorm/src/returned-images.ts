import type { WriteFact } from '@freshkey/core/adapter'
import type { EntityMetadata } from 'typeorm'
import type { TypeORMBinding } from './binding.ts'
import type { QB } from './internals.ts'
import { pkOf } from './row-image.ts'

type Column = EntityMetadata['columns'][number]

/**
 * SQLSTATEs a RETURNING list adds to a statement that would have run without it: no SELECT
 * privilege on a returned column, a mapped column the table lacks. The statement is then run
 * again as written (autocommit: it changed nothing, there is no transaction to abort).
 */
const RETURNING_ERRORS = new Set(['42501', '42703'])

/** What {@link returnedImages} adds to an autocommit update. */
export interface ReturnedImages {
  /** Runs the statement with the extra RETURNING columns (once more without them if they fail it). */
  run(execute: () => Promise<unknown>): () => Promise<unknown>
  /** The update facts of the rows it returned; undefined when it ran without the columns. */
  facts(result: unknown): WriteFact[] | undefined
}

/**
 * An autocommit `UPDATE` on PostgreSQL whose SET lacks fields the table's schemes filter on
 * returns the key and those fields (`RETURNING`, the statement's own rows: no read, no lock), so
 * its bumps name the conditions its rows are in. Not for builders with their own `returning` or
 * entity updates (TypeORM fills those in from RETURNING itself), nor other databases: they widen.
 */
export function returnedImages(
  qb: QB,
  facts: readonly WriteFact[],
  bindings: readonly TypeORMBinding[],
): ReturnedImages | undefined {
  const em = qb.expressionMap
  const md = em.mainAlias?.hasMetadata ? em.mainAlias.metadata : undefined
  if (!md || qb.connection.driver.options.type !== 'postgres') return undefined
  if (em.returning !== undefined || (em.whereEntities?.length ?? 0) > 0) return undefined
  if ((em.extraReturningColumns?.length ?? 0) > 0) return undefined
  const fields = new Set<string>()
  for (const b of bindings) for (const f of b.imageFields(facts).get(md.tableName) ?? []) fields.add(f)
  if (fields.size === 0) return undefined
  const columns: Column[] = [...md.primaryColumns]
  for (const f of fields) {
    const c = md.findColumnWithPropertyPath(f)
    if (!c) return undefined
    if (!columns.includes(c)) columns.push(c)
  }
  const update = facts.find((f) => f.kind === 'update')
  if (update?.kind !== 'update') return undefined
  const { after: written, changed } = update
  let returned = false
  // Every binding on the data source asks; the rows are read (and the result's `raw` reset) once.
  let read: { result: unknown; facts: WriteFact[] | undefined } | undefined
  const factsOf = (result: unknown): WriteFact[] | undefined => {
    if (!returned) return undefined
    const r = result as { raw?: unknown } | undefined
    const rows = r?.raw
    if (!Array.isArray(rows)) return undefined
    // The caller asked for no RETURNING: its result reads as without one.
    r!.raw = []
    const driver = qb.connection.driver
    return rows.map((row: Record<string, unknown>): WriteFact => {
      const image: Record<string, unknown> = {}
      for (const c of columns) image[c.propertyPath] = driver.prepareHydratedValue(row[c.databaseName], c)
      const pk = pkOf(md, image)
      if (pk === undefined) throw new Error(`an UPDATE of ${md.tableName} returned a row without its key`)
      return {
        table: md.tableName,
        kind: 'update',
        pk,
        after: { ...image, ...written },
        ...(changed ? { changed } : {}),
      }
    })
  }
  return {
    run: (execute) => async () => {
      em.extraReturningColumns = columns
      returned = true
      try {
        return await execute()
      } catch (error) {
        const code = (error as { code?: unknown } | undefined)?.code
        if (typeof code !== 'string' || !RETURNING_ERRORS.has(code)) throw error
        em.extraReturningColumns = []
        returned = false
        return await execute()
      } finally {
        em.extraReturningColumns = []
      }
    },
    facts(result) {
      const last = read
      if (last && last.result === result) return last.facts
      const now: { result: unknown; facts: WriteFact[] | undefined } = { result, facts: undefined }
      // Set first: a throw below leaves `undefined` (widen) for the other bindings too.
      read = now
      now.facts = factsOf(result)
      return now.facts
    },
  }
}
