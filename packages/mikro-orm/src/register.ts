import type { Freshkey, Transaction } from '@freshkey/core'
import { AdapterInactiveError, AdapterSetupError, Binding } from '@freshkey/core/adapter'
import type { Configuration, EntityManager, EventSubscriber } from '@mikro-orm/core'
import { type FreshkeyMikroOrmOptions, MikroOrmBinding } from './binding.ts'
import { missingHooks } from './hooks.ts'

const TX = ['TransactionStart', 'TransactionCommit'].flatMap((e) => [`before${e}`, `after${e}`])
const EVENTS = ['onFlush', 'afterFlush', 'afterUpsert', 'afterTransactionRollback', ...TX]

function check(fk: Freshkey, what: string): void {
  if (!fk || typeof fk.transaction !== 'function')
    throw new AdapterSetupError('mikro-orm', `${what} needs a freshkey instance (createFreshkey)`)
}

/**
 * The MikroORM event subscriber behind `freshkeyMikroORM`, for apps that list subscribers in their
 * init options: `subscribers: [new FreshkeySubscriber(fk)]`. It binds itself to the ORM on the
 * first event; call `freshkeyMikroORM(orm, fk)` after init as well so `fk.keyFor`, `@Scope`, the
 * read tracking and the result cache work before the first write (it adopts this subscriber).
 */
export class FreshkeySubscriber {
  /** The freshkey instance changes are published to. */
  readonly fk: Freshkey
  /** Options used when the subscriber binds itself. */
  readonly options: FreshkeyMikroOrmOptions
  readonly #stopped = new WeakSet<object>()

  constructor(fk: Freshkey, options: FreshkeyMikroOrmOptions = {}) {
    check(fk, 'FreshkeySubscriber')
    this.fk = fk
    this.options = options
  }

  /** @internal Stops (or resumes) delivering for the ORM with this configuration. */
  pause(config: object, stopped: boolean): void {
    if (stopped) this.#stopped.add(config)
    else this.#stopped.delete(config)
  }

  /** @internal The binding an event of `em`'s ORM goes to, made on its first event. */
  binding(em: EntityManager): MikroOrmBinding | undefined {
    if (this.#stopped.has(em.config)) return undefined
    try {
      const binding = Binding.for(this.fk, em.config, () => new MikroOrmBinding(this.fk, em, this.options))
      return binding.owns(this) ? binding : undefined
    } catch (error) {
      this.options.onError?.(error)
      return undefined
    }
  }
}
export interface FreshkeySubscriber
  extends Pick<EventSubscriber, 'onFlush' | 'afterFlush' | 'afterUpsert' | 'afterTransactionRollback'>,
    Pick<EventSubscriber, `${'before' | 'after'}Transaction${'Start' | 'Commit'}`> {}
// EventManager listens to the events a subscriber has (`event in subscriber`): one method each.
for (const event of EVENTS)
  Object.defineProperty(FreshkeySubscriber.prototype, event, {
    writable: true,
    configurable: true,
    value(this: FreshkeySubscriber, args: { em: EntityManager }) {
      const b = this.binding(args.em)
      return b ? (b[event as keyof MikroOrmBinding] as (a: unknown) => unknown).call(b, args) : undefined
    },
  })

/** What `freshkeyMikroORM` needs of a MikroORM instance. */
export interface MikroOrmLike {
  readonly em: EntityManager
  readonly config: Configuration
}

/** freshkey installed on a MikroORM instance. */
export interface FreshkeyMikroORM {
  readonly fk: Freshkey
  /** The subscriber that receives the ORM's events. */
  readonly subscriber: FreshkeySubscriber
  /**
   * The freshkey transaction buffering what `em`'s current database transaction wrote, for
   * `fk.runInTransaction` around cached reads on a fork outside MikroORM's contexts.
   */
  transactionOf(em: EntityManager): Transaction | undefined
  /**
   * Proves the hooks fire: the read and write hooks are in place, and a probe transaction (`BEGIN`,
   * `COMMIT`) reaches the transaction events. Throws `AdapterInactiveError` naming what is missing.
   */
  verify(): Promise<void>
  /** Stops capturing writes and tracking reads, unregisters from freshkey and the ORM. Idempotent. */
  dispose(): void
  [Symbol.dispose](): void
}

const handles = new WeakMap<MikroOrmBinding, FreshkeyMikroORM>()

/**
 * Installs freshkey on a MikroORM 6.4+ or 7 instance (call it right after `MikroORM.init`): writes
 * are bumped when their transaction commits, the reads of cached loaders (`fk.wrap`, `fk.cached`,
 * the result cache) become their dependencies, `fk.keyFor(entity)` and `@Scope` work. Calling it
 * again with the same `fk` returns the same handle; a `FreshkeySubscriber` of the same `fk`
 * already in the init options is adopted, never doubled.
 */
export function freshkeyMikroORM(
  orm: MikroOrmLike,
  fk: Freshkey,
  options: FreshkeyMikroOrmOptions = {},
): FreshkeyMikroORM {
  if (typeof orm?.em?.getEventManager !== 'function' || !orm.config)
    throw new AdapterSetupError(
      'mikro-orm',
      'freshkeyMikroORM needs an initialized MikroORM (await MikroORM.init(...))',
    )
  check(fk, 'freshkeyMikroORM')
  const manager = orm.em.getEventManager()
  const configured = orm.config.get('subscribers') as unknown
  const list = Array.isArray(configured) ? (configured as unknown[]) : undefined
  const mine = (s: unknown): s is FreshkeySubscriber => s instanceof FreshkeySubscriber && s.fk === fk
  const sub = [...manager.getSubscribers(), ...(list ?? [])].find(mine) ?? new FreshkeySubscriber(fk, options)
  const create = () => new MikroOrmBinding(fk, orm.em, { ...sub.options, ...options })
  const binding = Binding.for(fk, orm.config, create)
  const known = handles.get(binding)
  if (known) return known
  sub.pause(orm.config, false)
  if (![...manager.getSubscribers()].includes(sub)) manager.registerSubscriber(sub)
  // Forks with `freshEventManager` build their event manager from the configured subscribers.
  const added = list !== undefined && !list.includes(sub)
  if (added) list.push(sub)
  binding.owns(sub)
  const dispose = () => {
    binding.dispose()
    sub.pause(orm.config, true)
    if (added && list.includes(sub)) list.splice(list.indexOf(sub), 1)
  }
  const verify = async () => {
    binding.live()
    const missing = missingHooks(orm.em)
    const starts = binding.starts
    await orm.em.fork().transactional(async () => {})
    if (binding.starts === starts)
      missing.push('transaction events (the subscriber is not registered or not delivered to)')
    if (missing.length > 0)
      throw new AdapterInactiveError('mikro-orm', `hooks that do not fire: ${missing.join(', ')}`)
  }
  const transactionOf = (em: EntityManager) => binding.transactionOf(em)
  const handle: FreshkeyMikroORM = {
    fk,
    subscriber: sub,
    transactionOf,
    verify,
    dispose,
    [Symbol.dispose]: dispose,
  }
  handles.set(binding, handle)
  return handle
}
