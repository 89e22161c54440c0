import type { Freshkey } from '@freshkey/core'
import { AdapterSetupError, Binding } from '@freshkey/core/adapter'
import type {
  EntityManager,
  EventArgs,
  EventSubscriber,
  FlushEventArgs,
  TransactionEventArgs,
} from '@mikro-orm/core'
import { type FreshkeyMikroOrmOptions, MikroOrmBinding } from './binding.ts'
import { upsertBatch } from './em-patch.ts'

/**
 * The MikroORM event subscriber behind `freshkeyMikroORM`, for apps that list subscribers in their
 * init options: `subscribers: [new FreshkeySubscriber(fk)]`. It binds itself to the ORM on the
 * first event; call `freshkeyMikroORM(orm, fk)` after init as well so `fk.keyFor`, `@Scope`, the
 * read tracking and the result cache work before the first write (it adopts this subscriber).
 */
export class FreshkeySubscriber implements EventSubscriber {
  /** The freshkey instance changes are published to. */
  readonly fk: Freshkey
  /** Options used when the subscriber binds itself. */
  readonly options: FreshkeyMikroOrmOptions
  readonly #stopped = new WeakSet<object>()

  constructor(fk: Freshkey, options: FreshkeyMikroOrmOptions = {}) {
    if (!fk || typeof fk.transaction !== 'function')
      throw new AdapterSetupError(
        'mikro-orm',
        'FreshkeySubscriber needs a freshkey instance (createFreshkey)',
      )
    this.fk = fk
    this.options = options
  }

  /** @internal Stops delivering for the ORM with this configuration (its handle was disposed). */
  stop(config: object): void {
    this.#stopped.add(config)
  }

  /** @internal Delivers again for the ORM with this configuration. */
  resume(config: object): void {
    this.#stopped.delete(config)
  }

  #binding(em: EntityManager): MikroOrmBinding | undefined {
    if (this.#stopped.has(em.config)) return undefined
    try {
      const binding = Binding.for(this.fk, em.config, () => new MikroOrmBinding(this.fk, em, this.options))
      return binding.owns(this) ? binding : undefined
    } catch (error) {
      this.options.onError?.(error)
      return undefined
    }
  }

  onFlush(args: FlushEventArgs): void {
    this.#binding(args.em)?.onFlush(args)
  }

  afterFlush(args: FlushEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.afterFlush(args)
  }

  async afterUpsert(args: EventArgs<object>): Promise<void> {
    const binding = this.#binding(args.em)
    if (!binding) return
    const batch = upsertBatch.getStore()
    const facts = binding.upserted(args, batch?.partial ?? false)
    if (batch) batch.facts.set(binding, [...(batch.facts.get(binding) ?? []), ...facts])
    else
      await binding.record(
        args.em.getTransactionContext() as object | undefined,
        facts,
        args.em.isInTransaction(),
      )
  }

  beforeTransactionStart(args: TransactionEventArgs): void {
    this.#binding(args.em)?.beforeTransactionStart(args)
  }

  afterTransactionStart(args: TransactionEventArgs): void {
    this.#binding(args.em)?.afterTransactionStart(args)
  }

  beforeTransactionCommit(args: TransactionEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.beforeTransactionCommit(args)
  }

  afterTransactionCommit(args: TransactionEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.afterTransactionCommit(args)
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    this.#binding(args.em)?.afterTransactionRollback(args)
  }
}
