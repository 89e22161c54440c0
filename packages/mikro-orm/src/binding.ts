import {
  type Change,
  type EntityResolver,
  type Freshkey,
  scopesOf,
  sqlTablesWritten,
  type Transaction,
} from '@freshkey/core'
import {
  type Configuration,
  type EntityManager,
  type EntityMetadata,
  type EventArgs,
  type FlushEventArgs,
  Reference,
  RequestContext,
  TransactionContext,
  type TransactionEventArgs,
  type UnitOfWork,
  Utils,
} from '@mikro-orm/core'
import { readBeforeImages } from './before-images.ts'
import { discardPendingFill } from './cache-adapter.ts'
import { pkOf } from './conditions.ts'
import { cachingEm, type UpsertBatch, upsertBatch } from './em-context.ts'
import { patchEntityManager } from './em-patch.ts'
import { CaptureError } from './errors.ts'
import { captureFlush, flushChanges, type PendingFlush } from './flush-capture.ts'
import type { ResolvedOptions } from './options.ts'
import { addBinding, removeBinding } from './registry.ts'
import {
  insertChanges,
  nativeDeleteChanges,
  nativeUpdateChanges,
  queryBuilderChanges,
  rawChanges,
} from './silent-writes.ts'
import { TableGraph, tableOfMeta } from './table-graph.ts'

/** A database transaction (or savepoint) as freshkey buffers it. */
interface Frame {
  readonly tx: Transaction
  /** Flushes that reached `onFlush` in this transaction but not `afterFlush`: they may have written part of their rows. */
  readonly pending: Set<PendingFlush>
}

type Trx = object

/**
 * freshkey installed on one ORM: turns its events and silent writes into changes, buffers them per
 * database transaction and publishes them after the outermost commit. One per (ORM, freshkey).
 */
export class Binding {
  readonly fk: Freshkey
  readonly config: Configuration
  readonly graph: TableGraph
  readonly options: ResolvedOptions
  readonly #frames = new WeakMap<Trx, Frame>()
  readonly #parents = new WeakMap<EntityManager, Trx>()
  readonly #pending = new WeakMap<UnitOfWork, PendingFlush & { frame?: Frame }>()
  readonly #scoped: (table: string) => readonly string[]
  readonly #cleanup: (() => void)[] = []
  #owner: object | undefined
  #disposed = false

  constructor(em: EntityManager, fk: Freshkey, options: ResolvedOptions) {
    this.fk = fk
    this.config = em.config
    this.options = options
    this.graph = new TableGraph(em.getMetadata(), em.config)
    this.#scoped = (table) => fk.scopedFields(table)
    for (const meta of this.graph.entities()) {
      const lists = scopesOf(meta.class)
      if (lists && lists.length > 0) fk.defineScope(tableOfMeta(meta)!, lists)
    }
    this.#cleanup.push(fk.registerResolver(this.#resolver()))
    this.#cleanup.push(fk.addTransactionSource(() => this.#currentTransaction()))
    this.#cleanup.push(patchEntityManager(Object.getPrototypeOf(em)))
    addBinding(this)
  }

  /** Whether writes that bypass the unit of work are captured. */
  get captureSilentWrites(): boolean {
    return this.options.silentWrites && !this.#disposed
  }

  /** The first subscriber that delivers events owns the binding; others (a second registration) are ignored. */
  owns(subscriber: object): boolean {
    this.#owner ??= subscriber
    return this.#owner === subscriber && !this.#disposed
  }

  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    removeBinding(this)
    for (const off of this.#cleanup.splice(0)) off()
  }

  // ---------------------------------------------------------------- entities and context

  #resolver(): EntityResolver {
    return {
      identify: (entity) => {
        if (!Utils.isEntity(entity, true)) return undefined
        const target = Reference.isReference(entity) ? (entity as Reference<object>).unwrap() : entity
        const meta = (target as { __meta?: EntityMetadata }).__meta
        const table = meta && tableOfMeta(meta)
        const pk = meta && pkOf(meta, target)
        return table !== undefined && pk !== undefined ? { table, pk } : undefined
      },
      tableOf: (target) => {
        if (Utils.isEntity(target, true)) return undefined
        const meta = this.graph.meta(target)
        return meta && tableOfMeta(meta)
      },
    }
  }

  /** The freshkey transaction of the calling async context: a result cache call, `em.transactional`, or the request's entity manager. */
  #currentTransaction(): Transaction | undefined {
    for (const em of this.#contextEms()) {
      const tx = this.transactionOf(em)
      if (tx) return tx
    }
    return undefined
  }

  /** The open freshkey transaction of `em`'s database transaction. */
  transactionOf(em: EntityManager): Transaction | undefined {
    if (em.config !== this.config) return undefined
    const trx = em.getTransactionContext() as Trx | undefined
    const tx = trx && this.#frames.get(trx)?.tx
    return tx?.state === 'open' ? tx : undefined
  }

  *#contextEms(): Iterable<EntityManager> {
    const caching = cachingEm.getStore()
    if (caching) yield caching
    const tx = TransactionContext.currentTransactionContext()?.em
    if (tx) yield tx
    const request = RequestContext.currentRequestContext()
    if (request) yield* request.map.values()
  }

  // ---------------------------------------------------------------- transactions

  beforeTransactionStart({ em, transaction }: TransactionEventArgs): void {
    if (transaction) this.#parents.set(em, transaction)
  }

  async afterTransactionStart({ em, uow, transaction }: TransactionEventArgs): Promise<void> {
    if (!transaction) return
    this.#open(em, transaction)
    const pending = uow && this.#pending.get(uow)
    if (pending?.awaitingTransaction) {
      pending.awaitingTransaction = false
      await this.#readBefore(em, transaction, pending)
    }
  }

  #open(em: EntityManager, trx: Trx & { savepointName?: string }): void {
    let tx: Transaction
    if (trx.savepointName) {
      // A savepoint: its parent is the transaction `beforeTransactionStart` saw for the same entity manager.
      const parentTrx = this.#parents.get(em)
      this.#parents.delete(em)
      const parent = parentTrx && this.#frames.get(parentTrx)
      if (parent && parent.tx.state === 'open') tx = parent.tx.savepoint()
      else {
        this.#report(
          'transaction',
          `savepoint ${trx.savepointName} started in a transaction freshkey did not see begin; its release bumps at once`,
        )
        tx = this.fk.transaction()
      }
    } else tx = this.fk.transaction()
    this.#frames.set(trx, { tx, pending: new Set() })
  }

  async afterTransactionCommit({ transaction }: TransactionEventArgs): Promise<void> {
    const frame = transaction && this.#frames.get(transaction)
    if (!frame) return
    this.#frames.delete(transaction)
    // A flush that failed midway inside this transaction may have written some of its rows.
    for (const pending of frame.pending) {
      for (const item of pending.items.values())
        this.#recordInto(frame.tx, { table: item.table, kind: 'bulk' }, 'flush')
      for (const table of pending.pivots) this.#recordInto(frame.tx, { table, kind: 'bulk' }, 'flush')
    }
    if (frame.tx.state !== 'open') return
    try {
      await frame.tx.commit()
    } catch (error) {
      this.#report('commit', 'publishing the committed changes failed', error)
    }
  }

  afterTransactionRollback({ transaction }: TransactionEventArgs): void {
    const frame = transaction && this.#frames.get(transaction)
    if (!frame) return
    this.#frames.delete(transaction)
    frame.tx.rollback()
  }

  // ---------------------------------------------------------------- flush

  async onFlush({ em, uow }: FlushEventArgs): Promise<void> {
    let pending: PendingFlush & { frame?: Frame }
    try {
      pending = captureFlush(uow, this.graph, this.#scoped, this.options.scopedBeforeImages)
    } catch (error) {
      this.#report('flush', 'reading the change sets failed', error)
      return
    }
    this.#pending.set(uow, pending)
    const trx = em.getTransactionContext() as Trx | undefined
    const frame = trx && this.#frames.get(trx)
    if (frame) {
      pending.frame = frame
      frame.pending.add(pending)
    }
    if (![...pending.items.values()].some((i) => i.needsRead)) return
    // Outside a transaction the flush opens its own: read there (afterTransactionStart), not before it.
    if (trx) await this.#readBefore(em, trx, pending)
    else pending.awaitingTransaction = true
  }

  async #readBefore(em: EntityManager, trx: Trx, pending: PendingFlush): Promise<void> {
    try {
      await readBeforeImages(em, trx, pending, this.#scoped)
    } catch (error) {
      this.#report('flush', 'reading before images failed; the whole scopes are bumped', error)
    }
  }

  async afterFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const pending = this.#pending.get(uow)
    this.#pending.delete(uow)
    if (pending?.frame) pending.frame.pending.delete(pending)
    let changes: Change[]
    try {
      changes = flushChanges(uow, pending, this.graph, this.#scoped, this.options.scopedBeforeImages)
    } catch (error) {
      this.#report('flush', 'turning change sets into changes failed; their tables are bumped', error)
      changes = uow.getChangeSets().flatMap((cs) => {
        const table = tableOfMeta(cs.meta)
        return table === undefined ? [] : [{ table, kind: 'bulk' as const }]
      })
    }
    await this.#deliver(em.getTransactionContext(), changes, 'flush')
  }

  async afterUpsert({ em, entity, meta }: EventArgs<object>): Promise<void> {
    const trx = em.getTransactionContext()
    const batch = upsertBatch.getStore()
    if (!batch) return this.#capture('upsert', trx, meta, () => insertChanges(meta, [entity], [], 'update'))
    try {
      batch.entries.push({ owner: this, trx, changes: insertChanges(meta, [entity], [], 'update') })
    } catch (error) {
      this.#report('upsert', 'could not tell which rows were written; the table is bumped', error)
      const table = tableOfMeta(meta)
      if (table !== undefined) batch.entries.push({ owner: this, trx, changes: [{ table, kind: 'bulk' }] })
    }
  }

  /** Delivers the upserts of one `em.upsert`/`upsertMany` call, one store call per transaction. */
  async deliverUpserts(batch: UpsertBatch): Promise<void> {
    const byTrx = new Map<unknown, Change[]>()
    for (const entry of batch.entries) {
      if (entry.owner !== this) continue
      byTrx.set(entry.trx, [...(byTrx.get(entry.trx) ?? []), ...entry.changes])
    }
    for (const [trx, changes] of byTrx) await this.#deliver(trx, changes, 'upsert')
  }

  // ---------------------------------------------------------------- silent writes

  nativeUpdate(
    trx: unknown,
    entityName: unknown,
    where: unknown,
    data: Record<string, unknown>,
  ): Promise<void> {
    const meta = this.graph.meta(entityName)
    return this.#capture('nativeUpdate', trx, meta, () =>
      meta ? nativeUpdateChanges(this.graph, meta, where, data) : [],
    )
  }

  nativeDelete(trx: unknown, entityName: unknown, where: unknown): Promise<void> {
    const meta = this.graph.meta(entityName)
    return this.#capture('nativeDelete', trx, meta, () =>
      meta ? nativeDeleteChanges(this.graph, meta, where) : [],
    )
  }

  inserted(
    trx: unknown,
    entityName: unknown,
    rows: readonly unknown[],
    results: readonly unknown[],
  ): Promise<void> {
    const meta = this.graph.meta(entityName)
    return this.#capture('insert', trx, meta, () => (meta ? insertChanges(meta, rows, results) : []))
  }

  executed(trx: unknown, query: unknown, params: unknown): Promise<void> {
    const sql = sqlText(query)
    const values = Array.isArray(params) ? params : []
    return this.#capture('execute', trx, undefined, () => {
      const tables =
        (sql === undefined ? undefined : this.options.rawSqlTables?.(sql, values)) ??
        (sql === undefined ? [...this.graph.tables()] : sqlTablesWritten(sql, this.graph.tables()))
      return rawChanges(this.graph, tables)
    })
  }

  queryBuilderRan(qb: {
    type: string
    context?: unknown
    mainAlias?: { meta?: EntityMetadata }
  }): Promise<void> {
    return this.#capture('queryBuilder', qb.context, qb.mainAlias?.meta, () =>
      queryBuilderChanges(this.graph, qb),
    )
  }

  /** The result cache was about to store a value loaded inside a transaction: forget its snapshot. */
  discardCacheFill(_em: EntityManager, key: unknown): void {
    if (typeof key === 'string') discardPendingFill(this.fk, key)
  }

  // ---------------------------------------------------------------- delivery

  /** Builds and delivers changes; a failure records a bulk change of the table (or of every table). */
  async #capture(
    operation: string,
    trx: unknown,
    meta: EntityMetadata | undefined,
    build: () => Change[],
  ): Promise<void> {
    if (this.#disposed) return
    let changes: Change[]
    try {
      changes = build()
    } catch (error) {
      this.#report(operation, 'could not tell which rows were written; the table is bumped', error)
      const table = meta && tableOfMeta(meta)
      changes = (table !== undefined ? [table] : [...this.graph.tables()]).map((t) => ({
        table: t,
        kind: 'bulk',
      }))
    }
    await this.#deliver(trx, changes, operation)
  }

  /** Records into the open transaction of `trx`, or publishes at once when the write already committed. */
  async #deliver(trx: unknown, changes: Change[], operation: string): Promise<void> {
    if (changes.length === 0) return
    const frame = trx ? this.#frames.get(trx as Trx) : undefined
    if (frame && frame.tx.state === 'open') {
      for (const change of changes) this.#recordInto(frame.tx, change, operation)
      return
    }
    if (trx)
      this.#report(operation, 'the write ran in a transaction freshkey did not see begin; bumped at once')
    try {
      await this.fk.changed(...changes)
    } catch (error) {
      this.#report(operation, 'a change was rejected; its tables are bumped', error)
      try {
        await this.fk.changed(...bulkOf(changes))
      } catch (again) {
        this.#report(operation, 'bumping the tables failed', again)
      }
    }
  }

  #recordInto(tx: Transaction, change: Change, operation: string): void {
    try {
      tx.record(change)
    } catch (error) {
      this.#report(operation, `a change of ${change.table} was rejected; the table is bumped`, error)
      try {
        tx.record({ table: change.table, kind: 'bulk' })
      } catch (again) {
        this.#report(operation, `recording a bulk change of ${change.table} failed`, again)
      }
    }
  }

  #report(operation: string, message: string, cause?: unknown): void {
    try {
      this.options.onError(new CaptureError(operation, message, cause === undefined ? undefined : { cause }))
    } catch {
      // A throwing error callback must not fail the write either.
    }
  }
}

function bulkOf(changes: readonly Change[]): Change[] {
  return [...new Set(changes.map((c) => c.table))].map((table) => ({ table, kind: 'bulk' }))
}

/** The SQL text of what `em.execute` accepts: a string, a `raw()` fragment or a native query builder. */
function sqlText(query: unknown): string | undefined {
  if (typeof query === 'string') return query
  if (query && typeof query === 'object') {
    const q = query as { sql?: unknown; toRaw?: () => { sql?: unknown } }
    if (typeof q.sql === 'string') return q.sql
    if (typeof q.toRaw === 'function') {
      try {
        const raw = q.toRaw()
        if (typeof raw?.sql === 'string') return raw.sql
      } catch {
        return undefined
      }
    }
  }
  return undefined
}
