import type { PreparedCommit, Transaction } from '../transaction.ts'

interface Frame {
  readonly tx: Transaction
  prepared?: PreparedCommit
  /** Opened because a write arrived in a transaction whose start the adapter did not see. */
  readonly missed: boolean
}

/**
 * The database transactions of one ORM client, as freshkey buffers them: a stack of frames per
 * transaction handle (a TypeORM query runner, a MikroORM transaction object, a Prisma
 * `$transaction` call). A frame opened inside another is a savepoint; only the outermost commit
 * bumps, fenced in parallel with the database's COMMIT.
 */
export class TransactionFrames<H extends object> {
  readonly #stacks = new WeakMap<H, Frame[]>()
  readonly #open: () => Transaction
  readonly #missed: (handle: H) => void

  /** `open` makes a root transaction; `missed` is told (once per handle) about a start the adapter did not see. */
  constructor(open: () => Transaction, missed: (handle: H) => void) {
    this.#open = open
    this.#missed = missed
  }

  /**
   * A transaction began on `handle`: a savepoint when the handle (or `parent`) already has one
   * open, else a root. A root left open by a start whose end was never seen is committed first:
   * it may have committed, and bumping is the safe side.
   */
  begin(handle: H, parent?: H): Transaction {
    const outer = parent ? this.current(parent) : undefined
    const stack = this.#stacks.get(handle) ?? []
    const top = stack.at(-1)
    if (!outer && top?.missed) {
      stack.length = 0
      top.tx.commit().catch(() => {})
    }
    const below = outer ?? stack.at(-1)?.tx
    const tx = below && below.state === 'open' ? below.savepoint() : this.#open()
    stack.push({ tx, missed: false })
    this.#stacks.set(handle, stack)
    return tx
  }

  /** The innermost open transaction of a handle. */
  current(handle: H | undefined): Transaction | undefined {
    if (!handle) return undefined
    const top = this.#stacks.get(handle)?.at(-1)
    return top && top.tx.state === 'open' ? top.tx : undefined
  }

  /**
   * Where a write on `handle` records: its innermost open transaction; when the ORM says the
   * handle is in a transaction freshkey did not see begin, a root opened now (reported once).
   */
  recording(handle: H | undefined, inTransaction: boolean): Transaction | undefined {
    const tx = this.current(handle)
    if (tx || !handle || !inTransaction) return tx
    const stack = this.#stacks.get(handle) ?? []
    const frame = { tx: this.#open(), missed: true }
    stack.push(frame)
    this.#stacks.set(handle, stack)
    this.#missed(handle)
    return frame.tx
  }

  /** Right before the database COMMIT (or savepoint release) of the handle's innermost transaction. */
  beforeCommit(handle: H): void {
    const top = this.#stacks.get(handle)?.at(-1)
    if (top && top.tx.state === 'open' && !top.tx.parent && !top.prepared) top.prepared = top.tx.prepare()
  }

  /** After the database committed (or released the savepoint of) the handle's innermost transaction. Never rejects. */
  async afterCommit(handle: H): Promise<void> {
    const stack = this.#stacks.get(handle)
    const top = stack?.pop()
    if (!top) return
    if (stack!.length === 0) this.#stacks.delete(handle)
    if (top.prepared) {
      await top.prepared.ready
      await top.prepared.settle(true)
    } else if (top.tx.state === 'open') await top.tx.commit()
  }

  /** After the database rolled back the handle's innermost transaction (or savepoint). */
  afterRollback(handle: H): void {
    const stack = this.#stacks.get(handle)
    const top = stack?.pop()
    if (!top) return
    if (stack!.length === 0) this.#stacks.delete(handle)
    if (top.prepared) top.prepared.settle(false).catch(() => {})
    else top.tx.rollback()
  }

  /**
   * Runs a transaction of `handle` (a savepoint inside `parent`'s) that the adapter drives itself:
   * `body` calls {@link TransactionFrames.beforeCommit} right before COMMIT; the frame ends
   * committed when `body` resolves, rolled back when it rejects (committed under `keepOnFailure`:
   * what the database keeps of a failed one).
   */
  async run<R>(handle: H, parent: H | undefined, body: () => Promise<R>, keepOnFailure = false): Promise<R> {
    this.begin(handle, parent)
    let result: R
    try {
      result = await body()
    } catch (error) {
      await this.end(handle, keepOnFailure)
      throw error
    }
    await this.afterCommit(handle)
    return result
  }

  /** After the database ended the handle's innermost transaction: committed or rolled back. Never rejects. */
  async end(handle: H, committed: boolean): Promise<void> {
    if (committed) await this.afterCommit(handle)
    else this.afterRollback(handle)
  }

  /** Number of open frames of a handle (tests, diagnostics). */
  depth(handle: H): number {
    return this.#stacks.get(handle)?.length ?? 0
  }
}
