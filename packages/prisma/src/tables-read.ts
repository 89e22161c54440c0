import type { ModelIndex, ModelInfo } from './model-index.ts'

/**
 * Tables a read may look at: the model's, and those of every relation its arguments name, in
 * `include`, `select`, `_count`, relation filters in `where` and relation `orderBy` (with their
 * join tables). Over-approximates: an extra table only costs a miss.
 */
export function tablesRead(index: ModelIndex, model: ModelInfo, args: unknown): string[] {
  const out = new Set<string>([model.table])
  walk(index, model, args, out, 0)
  return [...out]
}

function walk(index: ModelIndex, model: ModelInfo, value: unknown, out: Set<string>, depth: number): void {
  if (
    value === null ||
    typeof value !== 'object' ||
    depth > 64 ||
    value instanceof Date ||
    ArrayBuffer.isView(value)
  )
    return
  if (Array.isArray(value)) {
    for (const v of value) walk(index, model, v, out, depth + 1)
    return
  }
  for (const [key, v] of Object.entries(value)) {
    const rel = model.relations.get(key)
    if (rel) {
      const target = index.model(rel.target)
      if (rel.joinTable) out.add(rel.joinTable)
      if (target) {
        out.add(target.table)
        walk(index, target, v, out, depth + 1)
      }
    } else walk(index, model, v, out, depth + 1)
  }
}
