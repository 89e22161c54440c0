import { Binding } from '@freshkey/core/adapter'
import type { PrismaBinding, TxFrame } from './prisma-binding.ts'

type AnyFn = (this: unknown, ...args: any[]) => any

/** Where a transaction client keeps its interactive transaction's id: Prisma 7, Prisma 6. */
const TX_SCOPE = Symbol.for('prisma.client.transaction.scope_context')
const TX_ID = Symbol.for('prisma.client.transaction.id')
const WATCHED = Symbol.for('freshkey.prisma.engineWatched')

/** The interactive transaction id of a transaction client (shared by its nested savepoints). */
function txIdOf(client: unknown): string | undefined {
  const c = client as Record<symbol, { txId?: unknown } | string | undefined> | null
  const id = (c?.[TX_SCOPE] as { txId?: unknown } | undefined)?.txId ?? c?.[TX_ID]
  return typeof id === 'string' ? id : undefined
}

/**
 * The `$transaction` of the freshkey layer. Prisma has no commit hook: the interactive callback
 * resolving is right before COMMIT (or a nested savepoint's release), `$transaction` settling the
 * end. The callback runs in the binding's frame (read by the query hook and `fk.currentTransaction()`).
 */
export function transactionOverride(b: PrismaBinding, inner: AnyFn): AnyFn {
  return async function $transaction(this: unknown, input: unknown, options?: unknown) {
    if (b.disposed) return inner.call(this, input, options)
    const id = txIdOf(this)
    const parent = id === undefined ? undefined : b.itx.get(id)
    const frame: TxFrame = { kind: typeof input === 'function' ? 'itx' : 'batch' }
    const run = () =>
      typeof input === 'function'
        ? inner.call(this, (client: unknown) => callback(b, frame, client, input as AnyFn), options)
        : b.als.run(frame, () => inner.call(this, input, options))
    // Inside an interactive transaction a batch has no savepoint: what ran before the failure stays.
    return b.frames.run(frame, parent, run, frame.kind === 'batch' && parent !== undefined)
  }
}

async function callback(b: PrismaBinding, frame: TxFrame, client: unknown, fn: AnyFn): Promise<unknown> {
  const id = txIdOf(client)
  const outer = id === undefined ? undefined : b.itx.get(id)
  if (id !== undefined) b.itx.set(id, Object.assign(frame, { txId: id }))
  try {
    const value = await b.als.run(frame, () => fn(client))
    b.frames.beforeCommit(frame)
    return value
  } finally {
    if (outer) b.itx.set(id!, outer)
    else if (id !== undefined) b.itx.delete(id)
  }
}

/** `transaction(action, headers, info?: { id?, newTxId? })` of Prisma's client engine. */
type Engine = { transaction: AnyFn; [WATCHED]?: true }

/**
 * Watches the engine of `root` for the ends of interactive transactions whose start freshkey did not
 * see (a later extension replaced `$transaction`), so their COMMIT is fenced like any other. False when
 * this Prisma's engine cannot be watched.
 */
export function watchEngine(root: object): boolean {
  const engine = (root as { _engine?: Engine })._engine
  if (typeof engine?.transaction !== 'function') return false
  if (engine[WATCHED]) return true
  const original = engine.transaction
  const savepoints = new Map<unknown, number>()
  engine[WATCHED] = true
  engine.transaction = async function (action, headers, info) {
    const id = action === 'start' ? info?.newTxId : info?.id
    if (action === 'start' && id === undefined) return original.call(this, action, headers, info)
    const depth = savepoints.get(id) ?? 0
    if (action === 'start' || depth > 0) {
      // A nested start with the transaction's id opens a savepoint; its end is not the transaction's.
      const next = depth + (action === 'start' ? 1 : -1)
      if (next > 0) savepoints.set(id, next)
      else savepoints.delete(id)
      return original.call(this, action, headers, info)
    }
    const missed = Binding.on(root).flatMap((b) => {
      const frame = (b as PrismaBinding).missed?.get(id as string)
      if (frame) (b as PrismaBinding).missed.delete(id as string)
      return frame ? [[b as PrismaBinding, frame] as const] : []
    })
    if (action === 'commit') for (const [b, frame] of missed) b.frames.beforeCommit(frame)
    let committed = false
    try {
      const done = await original.call(this, action, headers, info)
      committed = action === 'commit'
      return done
    } finally {
      for (const [b, frame] of missed) await b.frames.end(frame, committed)
    }
  }
  return true
}
