import { AsyncLocalStorage } from 'node:async_hooks'
import type { Freshkey, Transaction } from '@freshkey/core'

/** Prisma keeps the interactive-transaction id of a transaction client under this symbol. */
const TX_SCOPE = Symbol.for('prisma.client.transaction.scope_context')

/** One `$transaction` call freshkey wrapped: a root buffer or a savepoint. */
export interface TxFrame {
  readonly tx: Transaction
  readonly kind: 'itx' | 'batch'
  readonly parent: TxFrame | undefined
  /** Prisma's interactive transaction id (shared by nested savepoints). */
  txId: string | undefined
  /** Id of the batch transaction whose queries record here. */
  batchId: unknown
  /** The transaction client of an interactive transaction (for before-image reads). */
  client: any
}

/** Where a write's changes go. */
export type WriteTarget =
  | { readonly mode: 'tx'; readonly frame: TxFrame }
  | { readonly mode: 'auto' }
  | { readonly mode: 'foreign' }

type AnyFn = (this: unknown, ...args: any[]) => any

function txIdOf(client: unknown): string | undefined {
  const scope = (client as Record<symbol, { txId?: unknown } | undefined> | null)?.[TX_SCOPE]
  return typeof scope?.txId === 'string' ? scope.txId : undefined
}

/**
 * Buffers writes per Prisma transaction. Prisma has no commit hook, so `$transaction` is wrapped:
 * its promise resolving means the database committed (or released a savepoint), rejecting means it
 * rolled back. The callback runs inside an AsyncLocalStorage frame that the query hook reads.
 */
export class TransactionFrames {
  readonly #fk: Freshkey
  readonly #als = new AsyncLocalStorage<TxFrame>()
  readonly #open = new Map<string, TxFrame>()
  readonly #report: (error: unknown) => void

  constructor(fk: Freshkey, report: (error: unknown) => void) {
    this.#fk = fk
    this.#report = report
  }

  /** Where the changes of a query go, from Prisma's request parameters and the current frame. */
  locate(internalParams: unknown): WriteTarget {
    const frame = this.#als.getStore()
    const params = internalParams as { transaction?: { kind?: string; id?: unknown } } | undefined
    // Without Prisma's request parameters (another Prisma version) the frame is all there is.
    if (params === undefined || params === null || !('transaction' in params))
      return frame ? { mode: 'tx', frame } : { mode: 'auto' }
    const t = params.transaction
    if (!t) return { mode: 'auto' }
    if (t.kind === 'itx') {
      for (let f = frame; f; f = f.parent) if (f.txId === t.id) return { mode: 'tx', frame: f }
      const open = typeof t.id === 'string' ? this.#open.get(t.id) : undefined
      return open ? { mode: 'tx', frame: open } : { mode: 'foreign' }
    }
    if (t.kind === 'batch' && frame?.kind === 'batch' && frame.txId === undefined) {
      if (frame.batchId === undefined) frame.batchId = t.id
      if (frame.batchId === t.id) return { mode: 'tx', frame }
    }
    return { mode: 'foreign' }
  }

  /** The open frame of an interactive transaction client, if freshkey started it. */
  #frameOfClient(client: unknown): TxFrame | undefined {
    const id = txIdOf(client)
    if (id === undefined) return undefined
    for (let f = this.#als.getStore(); f; f = f.parent) if (f.txId === id) return f
    return this.#open.get(id)
  }

  /** A `$transaction` that calls `inner` (Prisma's, or an earlier extension's) and publishes after it resolves. */
  wrap(inner: AnyFn): AnyFn {
    const frames = this
    return function $transaction(this: unknown, input: unknown, options?: unknown) {
      const parent = frames.#frameOfClient(this)
      if (typeof input === 'function')
        return frames.#interactive(this, inner, input as AnyFn, options, parent)
      return frames.#batch(this, inner, input, options, parent)
    }
  }

  #newFrame(kind: TxFrame['kind'], parent: TxFrame | undefined): TxFrame {
    const tx = parent && parent.tx.state === 'open' ? parent.tx.savepoint() : this.#fk.transaction()
    return {
      tx,
      kind,
      parent,
      txId: kind === 'batch' ? parent?.txId : undefined,
      batchId: undefined,
      client: parent?.client,
    }
  }

  async #interactive(
    self: unknown,
    inner: AnyFn,
    callback: AnyFn,
    options: unknown,
    parent: TxFrame | undefined,
  ): Promise<unknown> {
    const frame = this.#newFrame('itx', parent)
    let result: unknown
    try {
      result = await inner.call(
        self,
        async (client: unknown) => {
          frame.client = client
          frame.txId = txIdOf(client)
          const previous = frame.txId === undefined ? undefined : this.#open.get(frame.txId)
          if (frame.txId !== undefined) this.#open.set(frame.txId, frame)
          try {
            return await this.#fk.runInTransaction(frame.tx, () =>
              this.#als.run(frame, () => callback(client)),
            )
          } finally {
            if (frame.txId !== undefined) {
              if (previous) this.#open.set(frame.txId, previous)
              else this.#open.delete(frame.txId)
            }
          }
        },
        options,
      )
    } catch (error) {
      // Rejected: Prisma rolled back the transaction, or back to this savepoint.
      frame.tx.rollback()
      throw error
    }
    await this.#settle(frame)
    return result
  }

  async #batch(
    self: unknown,
    inner: AnyFn,
    input: unknown,
    options: unknown,
    parent: TxFrame | undefined,
  ): Promise<unknown> {
    const frame = this.#newFrame('batch', parent)
    let result: unknown
    try {
      result = await this.#fk.runInTransaction(frame.tx, () =>
        this.#als.run(frame, () => inner.call(self, input, options)),
      )
    } catch (error) {
      // A batch inside an interactive transaction has no savepoint: what ran before the failure stays.
      if (parent) await this.#settle(frame)
      else frame.tx.rollback()
      throw error
    }
    await this.#settle(frame)
    return result
  }

  /** Commit: a root bumps (after the database commit), a savepoint merges into its parent. Never throws. */
  async #settle(frame: TxFrame): Promise<void> {
    try {
      if (frame.tx.state === 'open') await frame.tx.commit()
    } catch (error) {
      this.#report(error)
      await this.#fk.invalidateAll().catch(() => {})
    }
  }
}
