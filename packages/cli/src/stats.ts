import { type Connection, glob, scan, where } from './connection.ts'
import { classify, type KeyKind } from './keys.ts'

/** Key counts (and estimated bytes) of one namespace on one master, per kind of key. */
export interface MasterStats {
  readonly master: string
  readonly usedMemory: number
  readonly keys: Record<string, number>
  readonly bytes: Record<string, number>
}

/** What `freshkey stats` reports. */
export interface Stats {
  readonly namespaces: Record<
    string,
    { keys: Record<string, number>; bytes: Record<string, number>; total: number }
  >
  readonly masters: MasterStats[]
}

const SAMPLE = 50

/** Counts freshkey's keys per namespace and kind, per master, with bytes estimated from a sample (MEMORY USAGE). */
export async function stats(conn: Connection, namespace?: string): Promise<Stats> {
  const match =
    namespace === undefined ? `${glob(conn.prefix)}*` : `${glob(conn.prefix)}{${glob(namespace)}:*`
  const byMaster = new Map<string, { keys: Map<string, number> }>()
  const byNamespace = new Map<string, Map<string, number>>()
  const samples = new Map<string, number[]>()
  for await (const { node, keys } of scan(conn, match)) {
    const id = where(node)
    let m = byMaster.get(id)
    if (!m) {
      m = { keys: new Map() }
      byMaster.set(id, m)
    }
    for (const full of keys) {
      const k: KeyKind = classify(full.slice(conn.prefix.length))
      const label = k.kind === 'value' || k.kind === 'lease' ? `${k.kind}@${k.owner}` : k.kind
      m.keys.set(label, (m.keys.get(label) ?? 0) + 1)
      const ns = byNamespace.get(k.namespace) ?? new Map<string, number>()
      byNamespace.set(k.namespace, ns)
      ns.set(label, (ns.get(label) ?? 0) + 1)
      const s = samples.get(label) ?? []
      samples.set(label, s)
      if (s.length < SAMPLE) {
        const bytes = Number(await node.memory('USAGE', full).catch(() => 0))
        s.push(bytes)
      }
    }
  }
  const avg = (label: string) => {
    const s = samples.get(label) ?? []
    return s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0
  }
  const masters: MasterStats[] = []
  for (const node of conn.masters()) {
    const id = where(node)
    const info = String(await node.info('memory'))
    const m = byMaster.get(id)
    const keys = Object.fromEntries(m?.keys ?? [])
    masters.push({
      master: id,
      usedMemory: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0),
      keys,
      bytes: Object.fromEntries(Object.entries(keys).map(([l, n]) => [l, Math.round(avg(l) * n)])),
    })
  }
  const namespaces: Stats['namespaces'] = {}
  for (const [ns, counts] of byNamespace) {
    const keys = Object.fromEntries(counts)
    namespaces[ns] = {
      keys,
      bytes: Object.fromEntries(Object.entries(keys).map(([l, n]) => [l, Math.round(avg(l) * n)])),
      total: [...counts.values()].reduce((a, b) => a + b, 0),
    }
  }
  return { namespaces, masters }
}

const kb = (n: number) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`

export function describeStats(s: Stats): string[] {
  const lines: string[] = []
  for (const [ns, n] of Object.entries(s.namespaces)) {
    lines.push(`namespace ${ns || '(no namespace)'}: ${n.total} keys`)
    for (const [label, count] of Object.entries(n.keys).sort())
      lines.push(`  ${label.padEnd(18)} ${String(count).padStart(8)} keys  ~${kb(n.bytes[label] ?? 0)}`)
  }
  const total = s.masters.reduce((a, m) => a + Object.values(m.keys).reduce((x, y) => x + y, 0), 0)
  if (s.masters.length > 1) {
    lines.push('per master:')
    for (const m of s.masters) {
      const n = Object.values(m.keys).reduce((a, b) => a + b, 0)
      lines.push(
        `  ${m.master.padEnd(21)} ${String(n).padStart(8)} keys (${total ? ((100 * n) / total).toFixed(1) : '0.0'} %), used_memory ${kb(m.usedMemory)}`,
      )
    }
  } else if (s.masters[0]) lines.push(`used_memory ${kb(s.masters[0].usedMemory)}`)
  return lines
}
