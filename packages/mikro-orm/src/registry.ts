import type { Freshkey } from '@freshkey/core'
import type { Binding } from './binding.ts'

const byConfig = new WeakMap<object, Map<Freshkey, Binding>>()
const byFreshkey = new WeakMap<Freshkey, Set<Binding>>()

/** The live binding of `fk` on the ORM with this configuration. */
export function bindingOf(config: object, fk: Freshkey): Binding | undefined {
  return byConfig.get(config)?.get(fk)
}

/** Live bindings on the ORM with this configuration (one per freshkey instance). */
export function bindingsOf(config: object): Iterable<Binding> | undefined {
  const map = byConfig.get(config)
  return map && map.size > 0 ? map.values() : undefined
}

/** Live bindings of a freshkey instance, on every ORM. */
export function bindingsOfFreshkey(fk: Freshkey): Iterable<Binding> {
  return byFreshkey.get(fk) ?? []
}

export function addBinding(binding: Binding): void {
  const map = byConfig.get(binding.config) ?? new Map<Freshkey, Binding>()
  byConfig.set(binding.config, map)
  map.set(binding.fk, binding)
  const set = byFreshkey.get(binding.fk) ?? new Set<Binding>()
  byFreshkey.set(binding.fk, set)
  set.add(binding)
}

export function removeBinding(binding: Binding): void {
  const map = byConfig.get(binding.config)
  if (map?.get(binding.fk) === binding) map.delete(binding.fk)
  byFreshkey.get(binding.fk)?.delete(binding)
}
