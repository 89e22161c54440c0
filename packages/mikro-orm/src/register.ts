import type { Freshkey, Transaction } from '@freshkey/core'
import { AdapterInactiveError, AdapterSetupError, Binding } from '@freshkey/core/adapter'
import type { Configuration, EntityManager } from '@mikro-orm/core'
import { type FreshkeyMikroOrmOptions, MikroOrmBinding } from './binding.ts'
import { unpatched } from './patch.ts'
import { FreshkeySubscriber } from './subscriber.ts'

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
const EM_HOOKS = [
  'nativeUpdate',
  'nativeDelete',
  'insert',
  'insertMany',
  'upsert',
  'upsertMany',
  'execute',
  'createQueryBuilder',
  'tryCache',
  'storeCache',
]

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
  if (!orm || typeof orm !== 'object' || typeof orm.em?.getEventManager !== 'function' || !orm.config)
    throw new AdapterSetupError(
      'mikro-orm',
      'freshkeyMikroORM needs an initialized MikroORM instance (await MikroORM.init(...))',
    )
  if (!fk || typeof fk.transaction !== 'function')
    throw new AdapterSetupError('mikro-orm', 'freshkeyMikroORM needs a freshkey instance (createFreshkey)')
  const manager = orm.em.getEventManager()
  const configured = orm.config.get('subscribers') as unknown
  const list = Array.isArray(configured) ? (configured as unknown[]) : undefined
  let subscriber = [...manager.getSubscribers(), ...(list ?? [])].find(
    (s): s is FreshkeySubscriber => s instanceof FreshkeySubscriber && s.fk === fk,
  )
  const binding = Binding.for(
    fk,
    orm.config,
    () => new MikroOrmBinding(fk, orm.em, { ...subscriber?.options, ...options }),
  )
  const known = handles.get(binding)
  if (known) return known
  subscriber ??= new FreshkeySubscriber(fk, options)
  subscriber.resume(orm.config)
  if (![...manager.getSubscribers()].includes(subscriber)) manager.registerSubscriber(subscriber)
  // Forks with `freshEventManager` build their event manager from the configured subscribers.
  const added = list !== undefined && !list.includes(subscriber)
  if (added) list.push(subscriber)
  binding.owns(subscriber)
  const sub = subscriber
  const dispose = () => {
    binding.dispose()
    sub.stop(orm.config)
    const i = added && list ? list.indexOf(sub) : -1
    if (i >= 0) list!.splice(i, 1)
  }
  const verify = async () => {
    binding.live()
    const em = orm.em as unknown as Record<string, unknown>
    const driver = orm.em.getDriver()
    const missing = [
      ...unpatched(
        Object.getPrototypeOf(orm.em),
        EM_HOOKS.filter((n) => typeof em[n] === 'function'),
      ).map((n) => `em.${n}`),
      ...unpatched(Object.getPrototypeOf(orm.em.fork().getEntityLoader()), ['populate']).map(
        (n) => `EntityLoader.${n}`,
      ),
      ...unpatched(driver, ['find', 'count']).map((n) => `driver.${n}`),
      ...unpatched(driver.getConnection('write'), ['begin', 'commit', 'rollback']).map(
        (n) => `connection.${n}`,
      ),
    ]
    const starts = binding.starts
    await orm.em.fork().transactional(async () => {})
    if (binding.starts === starts)
      missing.push('transaction events (the subscriber is not registered or not delivered to)')
    if (missing.length > 0)
      throw new AdapterInactiveError('mikro-orm', `hooks that do not fire: ${missing.join(', ')}`)
  }
  const handle: FreshkeyMikroORM = {
    fk,
    subscriber: sub,
    transactionOf: (em) => binding.transactionOf(em),
    verify,
    dispose,
    [Symbol.dispose]: dispose,
  }
  handles.set(binding, handle)
  return handle
}
