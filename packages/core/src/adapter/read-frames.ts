import type { ReadFrame, ReadRecord } from '../tracking.ts'

/** The read frames of the calling code on these bindings (loaders of `fk.wrap`, `fk.cached`, result caches), each once; undefined when there is none. */
export function framesOf(bindings: Iterable<{ frame(): ReadFrame | undefined }>): ReadFrame[] | undefined {
  let out: ReadFrame[] | undefined
  for (const b of bindings) {
    const f = b.frame()
    if (f && !out?.includes(f)) out = [...(out ?? []), f]
  }
  return out
}

/** Read records that depend on these tables as a whole. */
export const wholeTables = (tables: Iterable<string>): ReadRecord[] =>
  [...tables].map((table) => ({ table, whole: true }))

/** What the frame and the loads enclosing it load is served, never stored. */
export function markUnsafe(frame: ReadFrame): void {
  for (let f: ReadFrame | undefined = frame; f; f = f.parent) f.unsafe = true
}

/**
 * Before a query runs: reads the fences of the tables the loads have not seen yet (DESIGN rule 1).
 * A query inside a database transaction may see uncommitted rows: its loads are never stored.
 */
export async function fenceReads(
  frames: readonly ReadFrame[],
  tables: Iterable<string>,
  inTransaction = false,
): Promise<void> {
  const list = [...tables]
  for (const frame of frames) {
    if (inTransaction) markUnsafe(frame)
    const p = frame.beforeQuery(list)
    if (p) await p
  }
}

/** After a query ran: tells every frame what it read. */
export function reportReads(frames: readonly ReadFrame[], records: readonly ReadRecord[]): void {
  for (const frame of frames) for (const r of records) frame.read(r)
}

/**
 * Runs one ORM query for the calling loads: fences its tables before it runs, then reports what
 * `records` makes of its result (by default: the tables, whole).
 */
export async function trackedQuery<R>(
  frames: readonly ReadFrame[],
  tables: Iterable<string>,
  inTransaction: boolean,
  run: () => Promise<R>,
  records?: (result: R) => readonly ReadRecord[],
): Promise<R> {
  const list = [...tables]
  await fenceReads(frames, list, inTransaction)
  const result = await run()
  reportReads(frames, records ? records(result) : wholeTables(list))
  return result
}
