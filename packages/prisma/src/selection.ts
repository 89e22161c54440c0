import type { ModelInfo } from './model-index.ts'

type Row = Record<string, unknown>

/** Write operations that take `select`/`omit` and return records. */
const SELECT_ARGS = new Set([
  'create',
  'createManyAndReturn',
  'update',
  'updateManyAndReturn',
  'upsert',
  'delete',
])

/**
 * Makes a write return the key and scoped fields even when `select`/`omit` leave them out: changes
 * need them. Returns the names added, which are removed from the result again.
 */
export function augmentSelection(
  model: ModelInfo,
  operation: string,
  args: Row,
  scoped: readonly string[],
): { sent: Row; added: string[] } {
  if (!SELECT_ARGS.has(operation)) return { sent: args, added: [] }
  const needed = [...new Set([...model.pk, ...scoped])]
  const added: string[] = []
  let sent = args
  const select = args.select as Row | undefined | null
  if (select && typeof select === 'object') {
    const next = { ...select }
    for (const f of needed) {
      if (!next[f]) {
        next[f] = true
        added.push(f)
      }
    }
    if (added.length > 0) sent = { ...args, select: next }
  }
  const omit = args.omit as Row | undefined | null
  if (omit && typeof omit === 'object') {
    const next = { ...omit }
    for (const f of needed) {
      if (next[f]) {
        delete next[f]
        added.push(f)
      }
    }
    sent = { ...sent, omit: next }
  }
  return { sent, added }
}

/** Removes the fields `augmentSelection` added from the top-level records of a result. */
export function strip(result: unknown, fields: readonly string[]): void {
  for (const rec of Array.isArray(result) ? result : [result]) {
    if (rec !== null && typeof rec === 'object') for (const f of fields) delete (rec as Row)[f]
  }
}
