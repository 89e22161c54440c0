import type { Freshkey } from '@freshkey/core'
import type {
  EntityManager,
  EventArgs,
  EventSubscriber,
  FlushEventArgs,
  TransactionEventArgs,
} from '@mikro-orm/core'
import { Binding } from './binding.ts'
import { CaptureError, RegistrationError } from './errors.ts'
import { type FreshkeyMikroOrmOptions, resolveOptions } from './options.ts'
import { bindingOf } from './registry.ts'

/**
 * The MikroORM event subscriber behind `freshkeyMikroORM`, for apps that list subscribers in their
 * init options: `subscribers: [new FreshkeySubscriber(fk)]`. It binds itself to the ORM on the
 * first event; call `freshkeyMikroORM(orm, fk)` after init as well so `fk.keyFor` and `@Scope`
 * work before the first write (it adopts this subscriber instead of adding a second one).
 */
export class FreshkeySubscriber implements EventSubscriber {
  /** The freshkey instance changes are published to. */
  readonly fk: Freshkey
  /** Options used when the subscriber binds itself. */
  readonly options: FreshkeyMikroOrmOptions
  readonly #stopped = new WeakSet<object>()

  constructor(fk: Freshkey, options: FreshkeyMikroOrmOptions = {}) {
    if (!fk || typeof fk.transaction !== 'function' || typeof fk.registerResolver !== 'function') {
      throw new RegistrationError('FreshkeySubscriber needs a freshkey instance (createFreshkey)')
    }
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

  #binding(em: EntityManager): Binding | undefined {
    if (this.#stopped.has(em.config)) return undefined
    let binding = bindingOf(em.config, this.fk)
    if (!binding) {
      try {
        binding = new Binding(em, this.fk, resolveOptions(this.options))
      } catch (error) {
        this.options.onError?.(
          new CaptureError('register', 'binding to the ORM failed; writes are not captured', {
            cause: error,
          }),
        )
        return undefined
      }
    }
    return binding.owns(this) ? binding : undefined
  }

  onFlush(args: FlushEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.onFlush(args)
  }

  afterFlush(args: FlushEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.afterFlush(args)
  }

  afterUpsert(args: EventArgs<object>): Promise<void> | undefined {
    return this.#binding(args.em)?.afterUpsert(args)
  }

  beforeTransactionStart(args: TransactionEventArgs): void {
    this.#binding(args.em)?.beforeTransactionStart(args)
  }

  afterTransactionStart(args: TransactionEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.afterTransactionStart(args)
  }

  afterTransactionCommit(args: TransactionEventArgs): Promise<void> | undefined {
    return this.#binding(args.em)?.afterTransactionCommit(args)
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    this.#binding(args.em)?.afterTransactionRollback(args)
  }
}
