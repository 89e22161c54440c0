import type { Binding } from './binding.ts'
import type { WriteFact } from './write-facts.ts'

/**
 * The facts of a silent write, per binding: worked out before it runs (`before`), or from its
 * result (`after`, inserted keys). They must not throw: widen what cannot be worked out
 * ({@link Binding.factsOf}).
 */
export interface SilentWriteFacts<B, R> {
  readonly before?: (binding: B) => WriteFact[]
  readonly after?: (binding: B, result: R) => WriteFact[]
}

/**
 * Runs a statement the ORM's events do not show (a silent write) and records it on every binding
 * of its client. Outside a transaction, facts known before it runs go out with it (fences sent in
 * parallel, {@link Binding.autocommit}); otherwise the facts are recorded into `handle`'s
 * transaction once it returned. Rejects only with the statement's own error.
 */
export async function silentWrite<H extends object, B extends Binding<H>, R>(
  bindings: readonly B[],
  handle: H | undefined,
  facts: SilentWriteFacts<B, R>,
  run: () => Promise<R>,
): Promise<R> {
  const { before, after } = facts
  if (before && !handle)
    return bindings.reduceRight((next: () => Promise<R>, b) => () => b.autocommit(before(b), next), run)()
  const result = await run()
  for (const b of bindings)
    await b.record(handle, before ? before(b) : (after?.(b, result) ?? []), handle !== undefined)
  return result
}
