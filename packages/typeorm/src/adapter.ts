import { type Change, canonicalPk, type Freshkey, scopesOf, type Transaction } from '@freshkey/core'
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm'
import { CascadeMap } from './cascades.ts'
import { transactionContext } from './context.ts'
import { createEntityResolver } from './entity-resolver.ts'
import { depthOf, sharedRunner } from './internals.ts'

/** Options of {@link freshkeyTypeORM}. */
export interface FreshkeyTypeORMOptions {
  /**
   * Before images of scoped tables. `'read'` (default): when a write may move a row between scopes,
   * read its scoped columns inside the writer's transaction (with `FOR UPDATE` where supported).
   * `'entity'`: trust the entity TypeORM loaded before the transaction; writes without one
   * (`repository.update`, QueryBuilder) invalidate the whole scope instead.
   */
  beforeImages?: 'read' | 'entity'
  /** Raw SQL run with `dataSource.query()` / `manager.query()`: `'parse'` (default) finds the tables it writes; `'ignore'` records nothing. */
  rawQueries?: 'parse' | 'ignore'
  /** Declares the tables a raw statement writes; return `undefined` to fall back to parsing. */
  rawTables?: (sql: string, parameters: readonly unknown[] | undefined) => readonly string[] | undefined
  /**
   * Also receives the errors the adapter swallowed so a database write never fails for the cache.
   * They are always counted in `fk.stats().adapterErrors` and published on the `freshkey:error` channel.
   */
  onError?: (error: unknown) => void
}

/** Resolved options. */
export interface AdapterOptions {
  readonly beforeImages: 'read' | 'entity'
  readonly rawQueries: 'parse' | 'ignore'
  readonly rawTables: FreshkeyTypeORMOptions['rawTables']
  readonly onError: ((error: unknown) => void) | undefined
}

/**
 * One data source watched for one freshkey instance: transaction frames per query runner,
 * metadata-derived facts (scopes, cascades, known tables) and the recording of changes.
 */
export class TypeORMAdapter {
  readonly dataSource: DataSource
  readonly fk: Freshkey
  readonly options: AdapterOptions
  readonly #frames = new WeakMap<QueryRunner, Transaction[]>()
  readonly #plain = new WeakMap<object, EntityMetadata>()
  readonly #offResolver: () => void
  readonly #offSource: () => void
  #scanned: readonly EntityMetadata[] | undefined
  #cascades = new CascadeMap([])
  #tables: ReadonlySet<string> = new Set()
  #disposed = false
  /** Query runners whose transaction events reached this adapter, for `verify()`. */
  readonly seen = new WeakSet<QueryRunner>()
  /** Called after each metadata scan. */
  onScan: ((metadatas: readonly EntityMetadata[]) => void) | undefined

  constructor(dataSource: DataSource, fk: Freshkey, options: FreshkeyTypeORMOptions = {}) {
    this.dataSource = dataSource
    this.fk = fk
    this.options = {
      beforeImages: options.beforeImages ?? 'read',
      rawQueries: options.rawQueries ?? 'parse',
      rawTables: options.rawTables,
      onError: options.onError,
    }
    this.#offResolver = fk.registerResolver(createEntityResolver(this))
    this.#offSource = fk.addTransactionSource(() => this.currentTransaction())
  }

  get disposed(): boolean {
    return this.#disposed
  }

  dispose(): void {
    this.#disposed = true
    this.#offResolver()
    this.#offSource()
  }

  report(error: unknown): void {
    try {
      this.fk.reportError('typeorm', error)
      this.options.onError?.(error)
    } catch {}
  }

  // ---------------------------------------------------------------- metadata

  /** Reads scopes, cascades and table names once per built metadata (initialize() rebuilds it). */
  ensureMetadata(): void {
    const metadatas = this.dataSource.entityMetadatas
    if (this.#disposed || this.#scanned === metadatas || metadatas.length === 0) return
    this.#scanned = metadatas
    for (const md of metadatas) {
      const lists = typeof md.target === 'function' ? scopesOf(md.target) : undefined
      if (lists && lists.length > 0) this.fk.defineScope(md.tableName, lists)
    }
    this.#cascades = new CascadeMap(metadatas)
    this.#tables = new Set(metadatas.map((md) => md.tableName))
    // Scopes declared with `fk.defineScope(EntityClass, ...)` before initialize() resolve now.
    this.fk.refreshResolvers()
    this.onScan?.(metadatas)
  }

  get cascades(): CascadeMap {
    this.ensureMetadata()
    return this.#cascades
  }

  /** Table names of every entity, junction and view the data source knows. */
  get knownTables(): ReadonlySet<string> {
    this.ensureMetadata()
    return this.#tables
  }

  /** Fields a before image of `table` needs (empty: no before image needed). */
  beforeFields(table: string): string[] {
    if (this.options.beforeImages !== 'read') return []
    this.ensureMetadata()
    return this.fk.scopedFields(table)
  }

  /** Remembers the metadata of an entity that is a plain object (EntitySchema without a class). */
  tagPlain(entity: unknown, metadata: EntityMetadata): void {
    if (typeof entity === 'object' && entity !== null && typeof metadata.target !== 'function')
      this.#plain.set(entity, metadata)
  }

  plainMetadata(entity: object): EntityMetadata | undefined {
    return this.#plain.get(entity)
  }

  // ---------------------------------------------------------------- transactions

  started(runner: QueryRunner): void {
    if (this.#disposed) return
    this.seen.add(runner)
    const stack = this.#frames.get(runner)
    const depth = depthOf(runner)
    if (!stack || stack.length === 0 || depth === 1) {
      // A root left over means its end event never reached us: it may have committed, so publish it.
      if (stack?.[0]?.state === 'open') stack[0].commit().catch((e) => this.report(e))
      this.#frames.set(runner, [this.fk.transaction()])
      return
    }
    stack.push(stack[stack.length - 1]!.savepoint())
  }

  /** Root commit: bumps after the database commit; TypeORM awaits it before `commitTransaction()` returns. */
  async committed(runner: QueryRunner): Promise<void> {
    this.seen.add(runner)
    const stack = this.#frames.get(runner)
    if (!stack || stack.length === 0) return
    try {
      if (!runner.isTransactionActive) {
        this.#frames.delete(runner)
        await stack[0]!.commit()
      } else if (stack.length > 1) {
        await stack.pop()!.commit()
      }
    } catch (error) {
      this.report(error)
    }
  }

  rolledBack(runner: QueryRunner): void {
    this.seen.add(runner)
    const stack = this.#frames.get(runner)
    if (!stack || stack.length === 0) return
    if (!runner.isTransactionActive) {
      this.#frames.delete(runner)
      stack[0]!.rollback()
    } else if (stack.length > 1) {
      stack.pop()!.rollback()
    }
  }

  /** The innermost open frame of a runner in a transaction (a root is created if the start was missed). */
  frameOf(runner: QueryRunner): Transaction | undefined {
    if (!runner.isTransactionActive) return undefined
    let stack = this.#frames.get(runner)
    if (!stack || stack.length === 0) {
      stack = [this.fk.transaction()]
      this.#frames.set(runner, stack)
    }
    return stack[stack.length - 1]
  }

  /**
   * The transaction of the calling code: the runner of the enclosing `transaction(fn)`, or the one
   * shared connection of SQLite-style drivers while it is in a transaction (every read there sees
   * the uncommitted writes).
   */
  currentTransaction(): Transaction | undefined {
    if (this.#disposed) return undefined
    const runner = transactionContext.getStore()
    if (runner) return runner.dataSource === this.dataSource ? this.frameOf(runner) : undefined
    const shared = this.dataSource.isInitialized ? sharedRunner(this.dataSource) : undefined
    return shared ? this.frameOf(shared) : undefined
  }

  // ---------------------------------------------------------------- changes

  /** Bulk changes for the tables the database changes itself when rows of `table` are deleted. */
  deleteCascades(table: string): Change[] {
    return this.cascades.onDelete(table).map((t) => ({ table: t, kind: 'bulk' as const }))
  }

  /**
   * Records changes: into the runner's transaction when it is in one (bumped at its commit), else
   * bumped now (the statement has committed). Never throws.
   */
  async record(runner: QueryRunner | undefined, changes: readonly Change[]): Promise<void> {
    if (this.#disposed || changes.length === 0) return
    const valid = changes.map(sane)
    try {
      this.ensureMetadata()
      const tx = runner ? this.frameOf(runner) : undefined
      if (tx) {
        for (const change of valid) tx.record(change)
        return
      }
      await this.fk.changed(...valid)
    } catch (error) {
      this.report(error)
    }
  }
}

/** A row change whose key cannot be encoded becomes a bulk change of its table: wider, never stale. */
function sane(change: Change): Change {
  if (change.kind === 'bulk') return change
  try {
    canonicalPk(change.pk)
    return change
  } catch {
    return { table: change.table, kind: 'bulk' }
  }
}
