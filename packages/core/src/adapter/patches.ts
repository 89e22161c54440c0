type Method = (this: any, ...args: any[]) => any

/** Wrappers of methods by name: each gets the original and returns what replaces it. */
export type MethodWraps = Record<string, (original: Method) => Method>

interface Patch {
  count: number
  readonly methods: Map<string, { readonly original?: PropertyDescriptor; readonly wrapper: Method }>
}
const patches = new WeakMap<object, Patch>()

/**
 * Wraps methods of `target` (a prototype shared by every ORM using the class, or one driver or
 * connection) once, counted: every call returns a release, and the last release restores the
 * originals, unless someone wrapped them after us (ours then stays: a pass-through once no binding
 * is left). A name `target` has no function under is skipped.
 */
export function patchMethods(target: object, wraps: MethodWraps): () => void {
  const t = target as Record<string, Method>
  const patch = patches.get(target) ?? { count: 0, methods: new Map() }
  patches.set(target, patch)
  for (const [name, wrap] of patch.count++ === 0 ? Object.entries(wraps) : []) {
    const value = typeof t[name] === 'function' ? wrap(t[name]) : undefined
    if (!value) continue
    patch.methods.set(name, { original: Object.getOwnPropertyDescriptor(target, name), wrapper: value })
    Object.defineProperty(target, name, { value, writable: true, configurable: true })
  }
  return () => {
    if (--patch.count > 0) return
    patches.delete(target)
    for (const [name, { original, wrapper }] of patch.methods) {
      if (t[name] !== wrapper) continue
      if (original) Object.defineProperty(target, name, original)
      else delete t[name]
    }
  }
}

/** The names among `names` whose method on `target` is not (or no longer) the wrapper `patchMethods` installed. */
export function unpatched(target: object, names: Iterable<string>): string[] {
  const methods = patches.get(target)?.methods
  return [...names].filter((n) => (target as Record<string, unknown>)[n] !== methods?.get(n)?.wrapper)
}
