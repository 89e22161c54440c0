import type { Row } from './rows.ts'
import type { ModelInfo } from './schema.ts'

/** Write operations that take `select`/`omit` and return records. */
const SELECTS = new Set([
  'create',
  'createManyAndReturn',
  'update',
  'updateManyAndReturn',
  'upsert',
  'delete',
])

/**
 * Makes a write return its primary key even when `select`/`omit` leave it out, so the row can be
 * named. Nothing else is added: a role may lack SELECT on other columns (the returned row is the
 * after image as far as it goes). Returns the names added, which are removed from the result again.
 */
export function augmentWrite(model: ModelInfo, operation: string, args: Row): { sent: Row; added: string[] } {
  const added: string[] = []
  if (!SELECTS.has(operation)) return { sent: args, added }
  const select = args.select as Row | undefined
  const omit = args.omit as Row | undefined
  if (select && typeof select === 'object') {
    const missing = model.primaryKey.filter((f) => !select[f])
    added.push(...missing)
    return {
      sent: { ...args, select: { ...select, ...Object.fromEntries(missing.map((f) => [f, true])) } },
      added,
    }
  }
  if (omit && typeof omit === 'object') {
    const next = { ...omit }
    for (const f of model.primaryKey.filter((f) => omit[f])) {
      delete next[f]
      added.push(f)
    }
    return { sent: { ...args, omit: next }, added }
  }
  return { sent: args, added }
}

/** Removes the fields `augmentWrite` added from the top-level records of a result. */
export function strip(result: unknown, fields: readonly string[]): void {
  if (fields.length === 0) return
  for (const rec of Array.isArray(result) ? result : [result])
    if (rec !== null && typeof rec === 'object') for (const f of fields) delete (rec as Row)[f]
}
