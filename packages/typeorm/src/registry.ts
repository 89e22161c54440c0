import type { DataSource } from 'typeorm'
import type { TypeORMAdapter } from './adapter.ts'

const adapters = new WeakMap<DataSource, Set<TypeORMAdapter>>()

/** The live adapters of a data source, or undefined when none (hooks then stay out of the way). */
export function adaptersOf(dataSource: DataSource | undefined): ReadonlySet<TypeORMAdapter> | undefined {
  if (!dataSource) return undefined
  const set = adapters.get(dataSource)
  return set && set.size > 0 ? set : undefined
}

export function addAdapter(adapter: TypeORMAdapter): void {
  let set = adapters.get(adapter.dataSource)
  if (!set) {
    set = new Set()
    adapters.set(adapter.dataSource, set)
  }
  set.add(adapter)
}

export function removeAdapter(adapter: TypeORMAdapter): void {
  adapters.get(adapter.dataSource)?.delete(adapter)
}
