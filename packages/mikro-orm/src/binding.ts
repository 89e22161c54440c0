import { type Freshkey, scopesOf, type Transaction } from '@freshkey/core'
import {
  Binding,
  type BindingOptions,
  type ReadFrame,
  SchemaGraph,
  type WriteFact,
} from '@freshkey/core/adapter'
import {
  type Configuration,
  type EntityManager,
  type EntityMetadata,
  EntitySchema,
  type EventArgs,
  type FlushEventArgs,
  type MetadataStorage,
  Reference,
  RequestContext,
  TransactionContext,
  type TransactionEventArgs,
  type UnitOfWork,
  Utils,
} from '@mikro-orm/core'
import { pkOf } from './conditions.ts'
import { cacheContext, patchDriver, patchEntityLoader, patchEntityManager } from './em-patch.ts'
import { flushFacts, imageOf, pivotTables } from './facts.ts'
import { schemaFacts, tableOf } from './schema.ts'

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
  /** The transaction it runs in; undefined: it opens its own (the implicit flush transaction). */
  readonly trx: Trx | undefined
  recorded: boolean
}

const live = new Set<MikroOrmBinding>()
const byConfig = new WeakMap<object, { all: MikroOrmBinding[]; silent: MikroOrmBinding[] }>()
const NONE = { all: [], silent: [] }

/** Live bindings of the ORM with this configuration (every hook asks: no allocation). */
export function bindingsOf(config: object | undefined): readonly MikroOrmBinding[] {
  return (config && byConfig.get(config)?.all) || NONE.all
}

/** Live bindings of the ORM with this configuration that capture silent writes. */
export function silentBindingsOf(config: object | undefined): readonly MikroOrmBinding[] {
  return (config && byConfig.get(config)?.silent) || NONE.silent
}

function index(config: object): void {
  const all = [...live].filter((b) => b.config === config)
  byConfig.set(config, { all, silent: all.filter((b) => b.silentWrites) })
}

/** Every live binding (for hooks that cannot tell their ORM). */
export function liveBindings(): ReadonlySet<MikroOrmBinding> {
  return live
}

/** The read frames of the calling code on these bindings (loaders of `fk.wrap`, `fk.cached`). */
export function framesOf(bindings: Iterable<MikroOrmBinding>): ReadFrame[] | undefined {
  let out: ReadFrame[] | undefined
  for (const b of bindings) {
    const f = b.frame()
    if (!f || out?.includes(f)) continue
    out ??= []
    out.push(f)
  }
  return out
}

/**
 * freshkey attached to one MikroORM instance: turns its events, silent writes and reads into the
 * kit's write facts and read records. One per (ORM configuration, freshkey instance).
 */
export class MikroOrmBinding extends Binding<Trx> {
  readonly metadata: MetadataStorage
  readonly config: Configuration
  readonly silentWrites: boolean
  readonly #parents = new WeakMap<EntityManager, Trx>()
  readonly #flushes = new WeakMap<UnitOfWork, PendingFlush>()
  readonly #unfinished = new WeakMap<Trx, Set<PendingFlush>>()
  #owner: object | undefined
  /** Transaction starts seen through the subscriber (`verify()`). */
  starts = 0

  constructor(fk: Freshkey, em: EntityManager, options: FreshkeyMikroOrmOptions = {}) {
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
        if (!Utils.isEntity(entity, true)) return undefined
        const target = Reference.unwrapReference(entity as object) as { __meta?: EntityMetadata }
        const table = tableOf(target.__meta)
        const pk = target.__meta && pkOf(target.__meta, target)
        return table !== undefined && pk !== undefined ? { table, pk } : undefined
      },
      tableOf: (target) => (Utils.isEntity(target, true) ? undefined : tableOf(this.meta(target))),
    })
    this.transactionSource(() => this.#current())
    this.onDispose(patchEntityManager(Object.getPrototypeOf(em)))
    this.onDispose(patchEntityLoader(Object.getPrototypeOf(em.fork().getEntityLoader())))
    this.onDispose(patchDriver(em.getDriver()))
    live.add(this)
    index(this.config)
    this.onDispose(() => {
      live.delete(this)
      index(this.config)
    })
  }

  /** The first subscriber that delivers events owns the binding; a second registration is ignored. */
  owns(subscriber: object): boolean {
    this.#owner ??= subscriber
    return this.#owner === subscriber && !this.disposed
  }

  /** Metadata of an entity class, `EntitySchema`, entity name, table name or entity. */
  meta(target: unknown): EntityMetadata | undefined {
    if (target === null || target === undefined) return undefined
    if (typeof target === 'object' && '__meta' in target) return (target as { __meta: EntityMetadata }).__meta
    const key = target instanceof EntitySchema ? (target.meta.class ?? target.meta.className) : target
    try {
      const found = this.metadata.find(key as never)
      if (found) return found
    } catch {
      // not an entity of this ORM
    }
    if (typeof target !== 'string') return undefined
    for (const meta of this.metadata)
      if (meta.className === target || (tableOf(meta) === target && meta === meta.root)) return meta
    return undefined
  }

  /** The write facts `build` gives; a failure is reported and widens to the table (or every table). */
  factsOf(operation: string, meta: EntityMetadata | undefined, build: () => WriteFact[]): WriteFact[] {
    try {
      return build()
    } catch (error) {
      this.report(operation, error)
      const table = tableOf(meta)
      return (table !== undefined ? [table] : [...this.graph.tables]).map((t) => ({
        table: t,
        kind: 'bulk',
        verb: 'unknown',
      }))
    }
  }

  /** The freshkey transaction of `em`'s current database transaction. */
  transactionOf(em: EntityManager): Transaction | undefined {
    return em.config === this.config
      ? this.frames.current(em.getTransactionContext() as Trx | undefined)
      : undefined
  }

  #current(): Transaction | undefined {
    const ems = [cacheContext.getStore()?.em, TransactionContext.currentTransactionContext()?.em]
    const request = RequestContext.currentRequestContext()
    if (request) ems.push(...request.map.values())
    for (const em of ems) {
      const tx = em && this.transactionOf(em)
      if (tx) return tx
    }
    return undefined
  }

  // ---------------------------------------------------------------- transactions

  beforeTransactionStart({ em, transaction }: TransactionEventArgs): void {
    if (transaction) this.#parents.set(em, transaction as Trx)
  }

  afterTransactionStart({ em, transaction }: TransactionEventArgs): void {
    if (!transaction) return
    this.starts++
    // A savepoint's parent is the transaction `beforeTransactionStart` saw on the same entity manager.
    const parent = this.#parents.get(em)
    this.#parents.delete(em)
    this.frames.begin(transaction as Trx, (transaction as Trx).savepointName ? parent : undefined)
  }

  async beforeTransactionCommit({ uow, transaction }: TransactionEventArgs): Promise<void> {
    if (!transaction) return
    const trx = transaction as Trx
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
      if (p.recorded) continue
      p.recorded = true
      await this.record(
        trx,
        p.tables.map((table) => ({ table, kind: 'bulk', verb: 'unknown' })),
        true,
      )
    }
    this.#unfinished.delete(trx)
    this.frames.beforeCommit(trx)
  }

  async afterTransactionCommit({ transaction }: TransactionEventArgs): Promise<void> {
    if (transaction) await this.frames.afterCommit(transaction as Trx)
  }

  afterTransactionRollback({ transaction }: TransactionEventArgs): void {
    if (transaction) this.frames.afterRollback(transaction as Trx)
  }

  // ---------------------------------------------------------------- flush and upsert

  onFlush({ em, uow }: FlushEventArgs): void {
    const trx = em.getTransactionContext() as Trx | undefined
    let pivots: string[]
    let tables: string[]
    try {
      pivots = pivotTables(this.metadata, uow)
      tables = [
        ...new Set([...uow.getChangeSets()].map((cs) => tableOf(cs.meta)!).filter(Boolean)),
        ...pivots,
      ]
    } catch (error) {
      this.report('flush', error)
      pivots = tables = [...this.graph.tables]
    }
    const pending: PendingFlush = { pivots, tables, trx, recorded: false }
    this.#flushes.set(uow, pending)
    if (!trx) return
    const set = this.#unfinished.get(trx) ?? new Set()
    this.#unfinished.set(trx, set.add(pending))
  }

  async afterFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const pending = this.#flushes.get(uow)
    this.#flushes.delete(uow)
    if (pending?.trx) this.#unfinished.get(pending.trx)?.delete(pending)
    if (pending?.recorded) return
    const facts = this.factsOf('flush', undefined, () =>
      flushFacts(uow, pending?.pivots ?? pivotTables(this.metadata, uow)),
    )
    await this.record(em.getTransactionContext() as Trx | undefined, facts, em.isInTransaction())
  }

  /** The facts of one upserted entity (an update of unknown fields: the row may have existed). */
  upserted({ entity, meta }: EventArgs<object>, partial: boolean): WriteFact[] {
    return this.factsOf('upsert', meta, () => {
      const table = tableOf(meta)
      const pk = pkOf(meta, entity)
      if (table === undefined) return []
      if (pk === undefined) return [{ table, kind: 'bulk', verb: 'unknown' }]
      return [
        {
          table,
          kind: 'update',
          pk,
          ...(partial ? {} : { after: imageOf(meta, entity as Record<string, unknown>) }),
        },
      ]
    })
  }
}
