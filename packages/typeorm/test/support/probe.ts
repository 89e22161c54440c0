import { type DependencyLike, type Freshkey, formatDependency, toDependency } from '@freshkey/core'

/**
 * Watches dependencies through the public API: a dependency moved when its `keyFor` key changed.
 * `moved()` returns the labels of those that moved since the last call and re-arms.
 */
export async function watch(
  fk: Freshkey,
  deps: readonly DependencyLike[],
): Promise<{ moved: () => Promise<string[]> }> {
  const list = deps.map(toDependency)
  // A commit's fence is lifted in the background: settle it first, so only real bumps move a key.
  const keys = async () => {
    await fk.idle()
    return Promise.all(list.map((d) => fk.keyFor(d)))
  }
  let last = await keys()
  return {
    async moved() {
      const now = await keys()
      const out = list.filter((_, i) => now[i] !== last[i]).map(formatDependency)
      last = now
      return out
    },
  }
}

/** Counts bumps published (one per commit or direct change). */
export function bumpCounter(fk: Freshkey): () => number {
  const start = fk.stats().invalidations
  return () => fk.stats().invalidations - start
}
