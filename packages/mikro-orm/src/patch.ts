export type Method = (this: any, ...args: any[]) => any

interface Patch {
  count: number
  readonly originals: Map<string, PropertyDescriptor | undefined>
  readonly wrappers: Map<string, Method>
}

const patches = new WeakMap<object, Patch>()

/**
 * Wraps methods of `target` (a prototype shared by every ORM using the class, or one driver or
 * connection instance) once, counted: the last release restores the originals, unless someone
 * wrapped them after us (ours then stays, a pass-through without bindings).
 */
export function patchMethods(
  target: object,
  wraps: Record<string, (original: Method) => Method>,
): () => void {
  let patch = patches.get(target)
  if (!patch) {
    patch = { count: 0, originals: new Map(), wrappers: new Map() }
    const t = target as Record<string, Method>
    for (const [name, wrap] of Object.entries(wraps)) {
      const original = t[name]
      if (typeof original !== 'function') continue
      const wrapper = wrap(original)
      patch.originals.set(name, Object.getOwnPropertyDescriptor(target, name))
      patch.wrappers.set(name, wrapper)
      Object.defineProperty(target, name, {
        value: wrapper,
        writable: true,
        configurable: true,
        enumerable: false,
      })
    }
    patches.set(target, patch)
  }
  patch.count++
  let released = false
  return () => {
    if (released) return
    released = true
    const p = patches.get(target)
    if (!p || --p.count > 0) return
    patches.delete(target)
    for (const [name, descriptor] of p.originals) {
      if ((target as Record<string, Method>)[name] !== p.wrappers.get(name)) continue
      if (descriptor) Object.defineProperty(target, name, descriptor)
      else delete (target as Record<string, Method>)[name]
    }
  }
}

/** The methods among `names` of `target` that are not (or no longer) our wrappers. */
export function unpatched(target: object, names: readonly string[]): string[] {
  const p = patches.get(target)
  return names.filter((n) => !p || (target as Record<string, unknown>)[n] !== p.wrappers.get(n))
}
