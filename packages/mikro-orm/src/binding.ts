import { type Freshkey, scopesOf, type Transaction } from '@freshkey/core'
import { Binding, type BindingOptions, bulkFact, bulkFacts, SchemaGraph } from '@freshkey/core/adapter'
import type * as M from '@mikro-orm/core'
import { EntitySchema, Reference, RequestContext, TransactionContext, Utils } from '@mikro-orm/core'
import { flushFacts, imageOf, pivotTables } from './facts.ts'
import { cacheContext, patchOrm, upsertBatch } from './hooks.ts'
import { pkOf, pkOfEntity, schemaFacts, tableOf } from './metadata.ts'

/** Options of `freshkeyMikroORM` and `FreshkeySubscriber`. */
export interface FreshkeyMikroOrmOptions extends BindingOptions {
  /**
   * Capture writes that bypass the unit of work: `nativeUpdate`, `nativeDelete`, `insert`,
   * `insertMany`, `clone`, QueryBuilder writes, `em.execute` and `getKysely()`. Default true.
   */
  silentWrites?: boolean
}

/** A MikroORM database transaction object (a Kysely transaction in 7, a Knex one in 6). */
export type Trx = object & { savepointName?: string }

/** A flush between `onFlush` and `afterFlush`. */
interface PendingFlush {
  /** Pivot tables (collection updates are gone by `afterFlush`). */
  readonly pivots: string[]
  /** Tables it writes, for a flush that failed midway in a transaction that then commits. */
  readonly tables: string[]
  /** Undefined: it opens its own transaction (the implicit flush transaction). */
  readonly trx: Trx | undefined
  recorded: boolean
}

/** Every live binding, of every ORM (for the populate hook, which sees no configuration). */
export const live = new Set<MikroOrmBinding>()

/** Live bindings of the ORM with this configuration. */
export const bindingsOf = (config: object | undefined) =>
  config ? (Binding.on(config) as MikroOrmBinding[]) : []

export const silentBindingsOf = (config: object | undefined) =>
  bindingsOf(config).filter((b) => b.silentWrites)

/**
 * freshkey attached to one MikroORM instance: turns its events, silent writes and reads into the
 * kit's write facts and read records. One per (ORM configuration, freshkey instance).
 */
export class MikroOrmBinding extends Binding<Trx> {
  readonly metadata: M.MetadataStorage
  readonly config: M.Configuration
  readonly silentWrites: boolean
  readonly #parents = new WeakMap<M.EntityManager, Trx>()
  readonly #flushes = new WeakMap<M.UnitOfWork, PendingFlush>()
  readonly #unfinished = new WeakMap<Trx, Set<PendingFlush>>()
  #owner: object | undefined
  /** Transaction starts seen through the subscriber (`verify()`). */
  starts = 0

  constructor(fk: Freshkey, em: M.EntityManager, options: FreshkeyMikroOrmOptions = {}) {
    super(fk, em.config, 'mikro-orm', options)
    this.metadata = em.getMetadata()
    this.config = em.config
    this.silentWrites = options.silentWrites ?? true
    this.setGraph(new SchemaGraph(schemaFacts(this.metadata, this.config.get('schemaGenerator') ?? {})))
    for (const meta of this.metadata) {
      const lists = tableOf(meta) && scopesOf(meta.class)
      if (lists && lists.length > 0) fk.defineScope(tableOf(meta)!, lists)
    }
    this.resolver({
      identify: (entity) => {
        const table = tableOf((Reference.unwrapReference(entity) as { __meta?: M.EntityMetadata }).__meta)
        const pk = Utils.isEntity(entity, true) ? pkOfEntity(entity) : undefined
        return pk !== undefined && table ? { table, pk } : undefined
      },
      tableOf: (target) => (Utils.isEntity(target, true) ? undefined : tableOf(this.meta(target))),
    })
    this.transactionSource(() => {
      const ems = [cacheContext.getStore()?.em, TransactionContext.currentTransactionContext()?.em]
      for (const em of [...ems, ...(RequestContext.currentRequestContext()?.map.values() ?? [])]) {
        const tx = em && this.transactionOf(em)
        if (tx) return tx
      }
      return undefined
    })
    for (const release of patchOrm(em)) this.onDispose(release)
    live.add(this)
    this.onDispose(() => live.delete(this))
  }

  /** The first subscriber that delivers events owns the binding; a second registration is ignored. */
  owns(subscriber: object): boolean {
    this.#owner ??= subscriber
    return this.#owner === subscriber && !this.disposed
  }

  /** Metadata of an entity class, `EntitySchema`, entity name, table name, entity or metadata. */
  meta(target: unknown): M.EntityMetadata | undefined {
    if (!target) return undefined
    const t = target as { __meta?: M.EntityMetadata; primaryKeys?: unknown; properties?: unknown }
    const given = t.__meta ?? (t.primaryKeys && t.properties ? (target as M.EntityMetadata) : undefined)
    // ORMs that share entity classes each set `__meta` on the shared prototype (the last one
    // discovered wins): this ORM's own metadata of the class, when it has one.
    const cls = given ? given.class : target instanceof EntitySchema ? target.meta.class : target
    let found: M.EntityMetadata | undefined
    try {
      found = this.metadata.find(cls as never)
    } catch {}
    if (found || given) return found ?? given
    for (const meta of typeof target === 'string' ? this.metadata : [])
      if (meta.className === target || (tableOf(meta) === target && meta === meta.root)) return meta
    return undefined
  }

  transactionOf(em: M.EntityManager): Transaction | undefined {
    const trx = em.config === this.config ? (em.getTransactionContext() as Trx | undefined) : undefined
    return this.frames.current(trx)
  }

  beforeTransactionStart({ em, transaction }: M.TransactionEventArgs): void {
    if (transaction) this.#parents.set(em, transaction as Trx)
  }

  afterTransactionStart({ em, transaction }: M.TransactionEventArgs): void {
    if (!transaction) return
    this.starts++
    // A savepoint's parent is the transaction `beforeTransactionStart` saw on the same entity manager.
    const parent = this.#parents.get(em)
    this.#parents.delete(em)
    this.frames.begin(transaction as Trx, (transaction as Trx).savepointName ? parent : undefined)
  }

  async beforeTransactionCommit({ uow, transaction }: M.TransactionEventArgs): Promise<void> {
    const trx = transaction as Trx | undefined
    if (!trx) return
    // A flush's implicit transaction commits before `afterFlush`: its facts go in now (keys are
    // known once its statements ran), so the fence sent with COMMIT covers them.
    const own = uow && this.#flushes.get(uow)
    if (own && !own.trx && !own.recorded) {
      own.recorded = true
      await this.record(
        trx,
        this.factsOf('flush', undefined, () => flushFacts(uow, own.pivots)),
        true,
      )
    }
    // A flush that failed midway may have written some of its rows: its tables, in bulk.
    for (const p of this.#unfinished.get(trx) ?? []) {
      if (!p.recorded) await this.record(trx, bulkFacts(p.tables), true)
      p.recorded = true
    }
    this.#unfinished.delete(trx)
    this.frames.beforeCommit(trx)
  }

  async afterTransactionCommit({ transaction }: M.TransactionEventArgs): Promise<void> {
    if (transaction) await this.frames.afterCommit(transaction as Trx)
  }

  afterTransactionRollback({ transaction }: M.TransactionEventArgs): void {
    if (transaction) this.frames.afterRollback(transaction as Trx)
  }

  onFlush({ em, uow }: M.FlushEventArgs): void {
    const trx = em.getTransactionContext() as Trx | undefined
    // An empty flush (each `em.transactional` ends with one) records nothing.
    if (uow.getChangeSets().length === 0 && uow.getCollectionUpdates().length === 0)
      return void this.#flushes.delete(uow)
    const [pivots, tables] = this.attempt(
      'flush',
      () => {
        const pivots = pivotTables(uow)
        return [pivots, [...new Set(uow.getChangeSets().flatMap((cs) => tableOf(cs.meta) ?? [])), ...pivots]]
      },
      () => [[...this.graph.tables], [...this.graph.tables]],
    )
    const pending: PendingFlush = { pivots, tables, trx, recorded: false }
    this.#flushes.set(uow, pending)
    if (trx) this.#unfinished.set(trx, (this.#unfinished.get(trx) ?? new Set()).add(pending))
  }

  async afterFlush({ em, uow }: M.FlushEventArgs): Promise<void> {
    const pending = this.#flushes.get(uow)
    if (!pending && uow.getChangeSets().length === 0) return
    this.#flushes.delete(uow)
    if (pending?.trx) this.#unfinished.get(pending.trx)?.delete(pending)
    if (pending?.recorded) return
    const facts = this.factsOf('flush', undefined, () => flushFacts(uow, pending?.pivots ?? pivotTables(uow)))
    await this.record(em.getTransactionContext() as Trx | undefined, facts, em.isInTransaction())
  }

  /** An upserted entity: an update of unknown fields (the row may have existed), one store call per `upsert*` call. */
  async afterUpsert({ em, entity, meta }: M.EventArgs<object>): Promise<void> {
    const batch = upsertBatch.getStore()
    const facts = this.factsOf('upsert', tableOf(meta), () => {
      const table = tableOf(meta)
      const pk = pkOf(meta, entity)
      const after = batch?.partial ? {} : { after: imageOf(meta, entity as Record<string, unknown>) }
      if (table === undefined || pk === undefined) return table === undefined ? [] : [bulkFact(table)]
      return [{ table, kind: 'update', pk, ...after }]
    })
    if (batch) batch.facts.set(this, [...(batch.facts.get(this) ?? []), ...facts])
    else await this.record(em.getTransactionContext() as Trx | undefined, facts, em.isInTransaction())
  }
}
