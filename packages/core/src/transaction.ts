import type { Fence } from './bumper.ts'
import type { Change } from './change.ts'
import { TransactionStateError } from './errors.ts'

/** What a transaction needs from its freshkey instance. */
export interface TransactionHost {
  /** Validates a change; throws `InvalidDependencyError` for a malformed one. */
  validate(change: Change): void
  /** The group (hash tag) of a table's tokens, to tell which reads a transaction touches. */
  group(table: string): string
  /** The global token key (every change touches it). */
  readonly all: string
  /** Bumps after the database commit; never rejects. */
  bump(changes: readonly Change[]): Promise<void>
  /** Fences before the database commit; never throws. */
  fence(changes: readonly Change[]): Fence
}

/** A commit in flight: see {@link Transaction.prepare}. */
export interface PreparedCommit {
  /** Resolves once the fence is in the store; await it together with the database's COMMIT. Never rejects. */
  readonly ready: Promise<void>
  /** Call once the database answered: `true` committed, `false` rolled back or failed. Never rejects. */
  settle(committed: boolean): Promise<void>
}

const NOTHING: PreparedCommit = { ready: Promise.resolve(), settle: async () => {} }

/**
 * A buffer of changes bumped once, at the outermost commit. `savepoint()` nests: a savepoint's
 * commit merges into its parent, its rollback discards only its own changes (DESIGN rule 3).
 */
export class Transaction {
  readonly #host: TransactionHost
  readonly #children = new Set<Transaction>()
  #changes: Change[] = []
  #late: Change[] = []
  #groups = new Set<string>()
  #state: 'open' | 'committing' | 'committed' | 'rolledBack' = 'open'

  /** The enclosing transaction of a savepoint; undefined for a root transaction. */
  readonly parent: Transaction | undefined

  constructor(host: TransactionHost, parent?: Transaction) {
    this.#host = host
    this.parent = parent
  }

  /** `open`, `committed` or `rolledBack` (a root being committed still reads `open`). */
  get state(): 'open' | 'committed' | 'rolledBack' {
    return this.#state === 'committing' ? 'open' : this.#state
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
      throw new TransactionStateError(`cannot ${what} a transaction that is ${this.state}`)
  }

  /**
   * Buffers a change until the outermost commit. Throws for a malformed change. A change that
   * arrives while the commit is in flight (after `prepare()`) is bumped once it settled.
   */
  record(change: Change): void {
    if (this.#state === 'committing') {
      this.#host.validate(change)
      this.#late.push(change)
      return
    }
    this.#open('record into')
    this.#host.validate(change)
    this.#changes.push(change)
    this.#groups.add(this.#host.group(change.table))
  }

  /** Opens a nested transaction (a savepoint). */
  savepoint(): Transaction {
    this.#open('open a savepoint in')
    const child = new Transaction(this.#host, this)
    this.#children.add(child)
    return child
  }

  /**
   * True when this transaction, an enclosing one or an open savepoint has pending changes that
   * touch any of `tokenKeys` (a key of a changed table, or the global key): reads of those bypass
   * the cache (read-your-writes, DESIGN rule 4).
   */
  touches(tokenKeys: Iterable<string>): boolean {
    let root: Transaction = this
    while (root.parent) root = root.parent
    const keys = [...tokenKeys]
    return keys.length > 0 && root.#touchesTree(keys)
  }

  #touchesTree(tokenKeys: readonly string[]): boolean {
    if (this.#changes.length > 0) {
      for (const k of tokenKeys) {
        if (k === this.#host.all) return true
        const end = k.indexOf('}')
        if (end > 0 && this.#groups.has(k.slice(0, end + 1))) return true
      }
    }
    for (const c of this.#children) if (c.#touchesTree(tokenKeys)) return true
    return false
  }

  #close(): boolean {
    // A savepoint left open inside a committed transaction was released by the database with it.
    for (const c of [...this.#children]) if (c.#state === 'open') c.#merge()
    if (this.parent) {
      this.#merge()
      return false
    }
    return true
  }

  #merge(): void {
    for (const c of [...this.#children]) if (c.#state === 'open') c.#merge()
    this.#state = 'committed'
    const parent = this.parent!
    parent.#children.delete(this)
    parent.#changes.push(...this.#changes)
    for (const g of this.#groups) parent.#groups.add(g)
  }

  /**
   * Root: bumps every recorded change in one store call. Call it after the database commit; it
   * resolves once the bump is done and never rejects for store trouble. Savepoint: merges into
   * the parent. Prefer {@link prepare} where the adapter can act right before COMMIT.
   */
  async commit(): Promise<void> {
    this.#open('commit')
    if (!this.#close()) return
    this.#state = 'committed'
    if (this.#changes.length > 0) await this.#host.bump(this.#changes)
  }

  /**
   * Root, right before the database COMMIT is sent: fences the recorded changes in parallel with
   * it. Await `ready` together with the COMMIT, then `settle(committed)`. The writer then waits
   * for no store round trip after the commit (see `docs/design.md`). Savepoint: merges into the
   * parent (its `ready` and `settle` do nothing).
   */
  prepare(): PreparedCommit {
    this.#open('commit')
    if (!this.#close()) return NOTHING
    this.#state = 'committing'
    if (this.#changes.length === 0) {
      this.#state = 'committed'
      return NOTHING
    }
    const fence = this.#host.fence(this.#changes)
    return {
      ready: fence.ready,
      settle: async (committed) => {
        this.#state = committed ? 'committed' : 'rolledBack'
        if (!committed) this.#changes = []
        await fence.settle(committed)
        const late = this.#late.splice(0)
        if (committed && late.length > 0) await this.#host.bump(late)
      },
    }
  }

  /** Discards the changes of this transaction and of its savepoints. */
  rollback(): void {
    if (this.#state !== 'open') return
    for (const c of this.#children) c.rollback()
    this.#state = 'rolledBack'
    this.#changes = []
    this.#groups = new Set()
    if (this.parent) this.parent.#children.delete(this)
  }
}
