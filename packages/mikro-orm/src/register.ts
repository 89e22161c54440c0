import type { Freshkey, Transaction } from '@freshkey/core'
import type { Configuration, EntityManager } from '@mikro-orm/core'
import { Binding } from './binding.ts'
import { RegistrationError } from './errors.ts'
import { type FreshkeyMikroOrmOptions, resolveOptions } from './options.ts'
import { bindingOf } from './registry.ts'
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
  /** Stops capturing writes and unregisters from freshkey and the ORM. Idempotent. */
  dispose(): void
  [Symbol.dispose](): void
}

const handles = new WeakMap<Binding, FreshkeyMikroORM>()

/**
 * Installs freshkey on a MikroORM instance (call it right after `MikroORM.init`): writes are
 * published as changes after their transaction commits, `fk.keyFor(entity)` and `@Scope` on entity
 * classes work. Calling it again with the same `fk` returns the same handle; a
 * `FreshkeySubscriber` of the same `fk` already in the init options is adopted, never doubled.
 */
export function freshkeyMikroORM(
  orm: MikroOrmLike,
  fk: Freshkey,
  options: FreshkeyMikroOrmOptions = {},
): FreshkeyMikroORM {
  if (
    !orm ||
    typeof orm !== 'object' ||
    !orm.em ||
    typeof orm.em.getEventManager !== 'function' ||
    !orm.config
  ) {
    throw new RegistrationError(
      'freshkeyMikroORM needs an initialized MikroORM instance (await MikroORM.init(...))',
    )
  }
  if (!fk || typeof fk.transaction !== 'function' || typeof fk.registerResolver !== 'function') {
    throw new RegistrationError('freshkeyMikroORM needs a freshkey instance (createFreshkey)')
  }
  const existing = bindingOf(orm.config, fk)
  const known = existing && handles.get(existing)
  if (known) return known

  const manager = orm.em.getEventManager()
  const configured = orm.config.get('subscribers') as unknown
  const list = Array.isArray(configured) ? (configured as unknown[]) : undefined
  let subscriber = [...manager.getSubscribers(), ...(list ?? [])].find(
    (s): s is FreshkeySubscriber => s instanceof FreshkeySubscriber && s.fk === fk,
  )
  const binding = existing ?? new Binding(orm.em, fk, resolveOptions({ ...subscriber?.options, ...options }))
  subscriber ??= new FreshkeySubscriber(fk, options)
  subscriber.resume(orm.config)
  manager.registerSubscriber(subscriber)
  // Forks with `freshEventManager` build their event manager from the configured subscribers.
  const added = list !== undefined && !list.includes(subscriber)
  if (added) list.push(subscriber)
  binding.owns(subscriber)

  const sub = subscriber
  const dispose = () => {
    binding.dispose()
    sub.stop(orm.config)
    if (added && list) {
      const i = list.indexOf(sub)
      if (i >= 0) list.splice(i, 1)
    }
  }
  const handle: FreshkeyMikroORM = {
    fk,
    subscriber: sub,
    transactionOf: (em) => binding.transactionOf(em),
    dispose,
    [Symbol.dispose]: dispose,
  }
  handles.set(binding, handle)
  return handle
}
