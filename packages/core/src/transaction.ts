import type { Change } from './change.ts'
import { TransactionStateError } from './errors.ts'

/** What a transaction needs from its freshkey instance. */
export interface TransactionHost {
  /** Adds the token keys a change bumps to `out`; validates the change. */
  plan(change: Change, out: Set<string>): void
  /** Bumps keys in one store call; never rejects (failures widen to an epoch bump). */
  publish(keys: Set<string>): Promise<void>
}

/**
 * A buffer of changes bumped once, after the database commit. `savepoint()` nests: a savepoint's
 * commit merges into its parent, its rollback discards only its own changes (DESIGN rule 3).
 */
export class Transaction {
  readonly #host: TransactionHost
  readonly #children = new Set<Transaction>()
  #keys = new Set<string>()
  #changes: Change[] = []
  #state: 'open' | 'committed' | 'rolledBack' = 'open'

  /** The enclosing transaction of a savepoint; undefined for a root transaction. */
  readonly parent: Transaction | undefined

  constructor(host: TransactionHost, parent?: Transaction) {
    this.#host = host
    this.parent = parent
  }

  /** `open`, `committed` or `rolledBack`. */
  get state(): 'open' | 'committed' | 'rolledBack' {
    return this.#state
  }

  /** Changes recorded here (and merged from committed savepoints), oldest first. */
  get changes(): readonly Change[] {
    return this.#changes
  }

  /** Nesting depth: 0 for a root transaction. */
  get depth(): number {
    return this.parent ? this.parent.depth + 1 : 0
  }

  #open(what: string): void {
    if (this.#state !== 'open')
      throw new TransactionStateError(`cannot ${what} a transaction that is ${this.#state}`)
  }

  /** Buffers a change until the outermost commit. */
  record(change: Change): void {
    this.#open('record into')
    this.#host.plan(change, this.#keys)
    this.#changes.push(change)
  }

  /** Opens a nested transaction (a savepoint). */
  savepoint(): Transaction {
    this.#open('open a savepoint in')
    const child = new Transaction(this.#host, this)
    this.#children.add(child)
    return child
  }

  /**
   * True when this transaction, an enclosing one or an open savepoint has pending changes that bump
   * any of `tokenKeys`: reads of those must bypass the cache (read-your-writes, DESIGN rule 4).
   */
  touches(tokenKeys: readonly string[]): boolean {
    let root: Transaction = this
    while (root.parent) root = root.parent
    return root.#touchesTree(tokenKeys)
  }

  #touchesTree(tokenKeys: readonly string[]): boolean {
    if (tokenKeys.some((k) => this.#keys.has(k))) return true
    for (const c of this.#children) if (c.#touchesTree(tokenKeys)) return true
    return false
  }

  /**
   * Root: bumps every recorded change in one store call (call it after the database commit; it
   * resolves once the bump is done and never rejects for store trouble). Savepoint: merges into the parent.
   */
  async commit(): Promise<void> {
    this.#open('commit')
    // A savepoint left open inside a committed transaction was released by the database with it.
    for (const c of [...this.#children]) if (c.#state === 'open') await c.commit()
    this.#state = 'committed'
    if (this.parent) {
      this.parent.#children.delete(this)
      for (const k of this.#keys) this.parent.#keys.add(k)
      this.parent.#changes.push(...this.#changes)
      return
    }
    if (this.#keys.size > 0) await this.#host.publish(this.#keys)
  }

  /** Discards the changes of this transaction and of its savepoints. */
  rollback(): void {
    if (this.#state !== 'open') return
    for (const c of this.#children) c.rollback()
    this.#state = 'rolledBack'
    this.#keys = new Set()
    this.#changes = []
    if (this.parent) this.parent.#children.delete(this)
  }
}
