import type { MikroOrmBinding, Trx } from './binding.ts'
import { framesOf } from './binding.ts'
import { unsafe } from './read-tracking.ts'

interface Node {
  readonly kind?: string
  readonly [key: string]: unknown
}

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode'])

/** Table names anywhere in a Kysely operation node (targets, joins, subqueries): wider than written, never narrower. */
function tablesIn(node: unknown, out: Set<string>, depth = 0): Set<string> {
  if (!node || typeof node !== 'object' || depth > 32) return out
  if (Array.isArray(node)) {
    for (const n of node) tablesIn(n, out, depth + 1)
    return out
  }
  const n = node as Node
  if (n.kind === 'TableNode') {
    const name = (n.table as { identifier?: { name?: unknown } } | undefined)?.identifier?.name
    if (typeof name === 'string') out.add(name)
  }
  for (const value of Object.values(n))
    if (value && typeof value === 'object') tablesIn(value, out, depth + 1)
  return out
}

/**
 * `em.getKysely()` with a plugin: writes are recorded once they ran (their tables in bulk; raw
 * `sql` by the raw-SQL policy). A read inside a cached loader cannot be fenced before it runs
 * (plugins transform synchronously): its load is served, not stored.
 */
export function watchKysely<K>(kysely: K, bindings: readonly MikroOrmBinding[], trx: Trx | undefined): K {
  const k = kysely as K & { withPlugin?: (plugin: object) => K }
  if (typeof k?.withPlugin !== 'function') return kysely
  const writes = new WeakMap<object, (b: MikroOrmBinding) => Promise<void>>()
  const inTx = trx !== undefined
  return k.withPlugin({
    transformQuery({ node, queryId }: { node: Node; queryId: object }) {
      if (node.kind === 'RawNode') {
        const sql = ((node.sqlFragments as string[] | undefined) ?? []).join('?')
        writes.set(queryId, (b) => b.raw(trx, sql, [], inTx))
      } else if (WRITES.has(node.kind ?? '')) {
        const named = [...tablesIn(node, new Set())]
        writes.set(queryId, (b) => {
          const known = named.filter((t) => b.graph.tables.has(t))
          const tables = known.length === named.length && known.length > 0 ? known : [...b.graph.tables]
          return b.record(
            trx,
            tables.map((table) => ({ table, kind: 'bulk', verb: 'unknown' })),
            inTx,
          )
        })
      }
      if (!WRITES.has(node.kind ?? '')) for (const f of framesOf(bindings) ?? []) unsafe(f)
      return node
    },
    async transformResult({ result, queryId }: { result: unknown; queryId: object }) {
      const record = writes.get(queryId)
      if (record) for (const b of bindings) if (b.silentWrites) await record(b)
      return result
    },
  })
}
