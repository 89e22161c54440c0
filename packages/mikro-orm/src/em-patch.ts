import type { EntityManager } from '@mikro-orm/core'
import type { Binding } from './binding.ts'
import { cachingEm, type UpsertBatch, upsertBatch } from './em-context.ts'
import { bindingsOf } from './registry.ts'

type Method = (this: EntityManager, ...args: any[]) => any
type Wrap = (original: Method) => Method

interface Patch {
  count: number
  /** Own property descriptors the prototype had before (undefined: it inherited the method). */
  readonly originals: Map<string, PropertyDescriptor | undefined>
  readonly wrappers: Map<string, Method>
}

const patches = new WeakMap<object, Patch>()

/** Runs `fn` for every live binding of the ORM `em` belongs to (that captures silent writes); never throws. */
async function each(
  em: EntityManager,
  fn: (binding: Binding) => Promise<void>,
  silentOnly = true,
): Promise<void> {
  const bindings = bindingsOf(em.config)
  if (!bindings) return
  for (const b of [...bindings]) if (!silentOnly || b.captureSilentWrites) await fn(b)
}

function trxOf(em: EntityManager, options: unknown): unknown {
  const ctx = (options as { ctx?: unknown } | undefined)?.ctx
  return ctx ?? em.getContext(false).getTransactionContext()
}

/**
 * Entity manager methods that write without the unit of work, wrapped to record what they wrote
 * once the database call returned (and before the caller sees the result), plus the result cache
 * hooks, wrapped to know which entity manager (and so which transaction) is asking.
 */
const WRAPS: Record<string, Wrap> = {
  nativeUpdate: (original) =>
    async function (this: EntityManager, entityName, where, data, options) {
      const result = await original.call(this, entityName, where, data, options)
      await each(this, (b) => b.nativeUpdate(trxOf(this, options), entityName, where, data))
      return result
    },
  nativeDelete: (original) =>
    async function (this: EntityManager, entityName, where, options) {
      const result = await original.call(this, entityName, where, options)
      await each(this, (b) => b.nativeDelete(trxOf(this, options), entityName, where))
      return result
    },
  insert: (original) =>
    async function (this: EntityManager, entityNameOrEntity, data, options) {
      const result = await original.call(this, entityNameOrEntity, data, options)
      await each(this, (b) =>
        b.inserted(
          trxOf(this, options),
          entityNameOrEntity,
          data === undefined ? [entityNameOrEntity] : [data],
          [result],
        ),
      )
      return result
    },
  insertMany: (original) =>
    async function (this: EntityManager, entityNameOrEntities, data, options) {
      const result = await original.call(this, entityNameOrEntities, data, options)
      const rows = data === undefined ? entityNameOrEntities : data
      await each(this, (b) =>
        b.inserted(trxOf(this, options), data === undefined ? rows[0] : entityNameOrEntities, rows, result),
      )
      return result
    },
  clone: (original) =>
    async function (this: EntityManager, ...args: unknown[]) {
      const result = await original.apply(this, args)
      const options = args.find((a, i) => i >= 2 && a !== null && typeof a === 'object' && 'ctx' in a)
      await each(this, (b) => b.inserted(trxOf(this, options), result, [result], [undefined]))
      return result
    },
  upsert: (original) => batchedUpserts(original),
  upsertMany: (original) => batchedUpserts(original),
  execute: (original) =>
    async function (this: EntityManager, query, params, ...rest) {
      const result = await original.call(this, query, params, ...rest)
      await each(this, (b) => b.executed(trxOf(this, undefined), query, params))
      return result
    },
  createQueryBuilder: (original) =>
    function (this: EntityManager, ...args: unknown[]) {
      const qb = original.apply(this, args)
      if (bindingsOf(this.config)) watchQueryBuilder(qb)
      return qb
    },
  tryCache: (original) =>
    function (this: EntityManager, ...args: unknown[]) {
      if (!bindingsOf(this.config)) return original.apply(this, args)
      return cachingEm.run(this.getContext(false), () => original.apply(this, args))
    },
  storeCache: (original) =>
    async function (this: EntityManager, config, key, data) {
      const bindings = bindingsOf(this.config)
      if (!bindings) return original.call(this, config, key, data)
      const em = this.getContext(false)
      // DESIGN rule 4: a value loaded inside a transaction may be uncommitted or an old snapshot.
      if (em.isInTransaction()) {
        for (const b of bindings) b.discardCacheFill(em, key?.key)
        return
      }
      return cachingEm.run(em, () => original.call(this, config, key, data))
    },
}

/** Collects the `afterUpsert` events of one call and delivers them once it returned. */
function batchedUpserts(original: Method): Method {
  return async function (this: EntityManager, ...args: unknown[]) {
    if (!bindingsOf(this.config) || upsertBatch.getStore()) return original.apply(this, args)
    const batch: UpsertBatch = { entries: [] }
    const result = await upsertBatch.run(batch, () => original.apply(this, args))
    await each(this, (b) => b.deliverUpserts(batch), false)
    return result
  }
}

interface WatchedQueryBuilder {
  readonly type: string
  execute: (...args: unknown[]) => Promise<unknown>
  em?: EntityManager
}

const watched = new WeakSet<object>()

/** Records QueryBuilder writes when they run. */
function watchQueryBuilder(qb: WatchedQueryBuilder): void {
  if (!qb || typeof qb.execute !== 'function' || watched.has(qb)) return
  watched.add(qb)
  const execute = qb.execute
  qb.execute = async function (this: WatchedQueryBuilder, ...args: unknown[]) {
    const result = await execute.apply(this, args)
    const em = this.em
    if (em) await each(em, (b) => b.queryBuilderRan(this))
    return result
  }
}

/**
 * Wraps the write and cache methods on an entity manager class prototype, shared by every ORM that
 * uses the class: each wrapper looks up the bindings of `this.config` and passes straight through
 * when there are none. Returns a release function; the last release restores the originals.
 */
export function patchEntityManager(proto: object): () => void {
  let patch = patches.get(proto)
  if (!patch) {
    patch = { count: 0, originals: new Map(), wrappers: new Map() }
    const target = proto as Record<string, Method>
    for (const [name, wrap] of Object.entries(WRAPS)) {
      const original = target[name]
      if (typeof original !== 'function') continue
      const wrapper = wrap(original)
      patch.originals.set(name, Object.getOwnPropertyDescriptor(proto, name))
      patch.wrappers.set(name, wrapper)
      Object.defineProperty(proto, name, {
        value: wrapper,
        writable: true,
        configurable: true,
        enumerable: false,
      })
    }
    patches.set(proto, patch)
  }
  patch.count++
  let released = false
  return () => {
    if (released) return
    released = true
    const p = patches.get(proto)
    if (!p || --p.count > 0) return
    patches.delete(proto)
    for (const [name, descriptor] of p.originals) {
      // Someone wrapped it after us: leave theirs (ours stays a pass-through without bindings).
      if ((proto as Record<string, Method>)[name] !== p.wrappers.get(name)) continue
      if (descriptor) Object.defineProperty(proto, name, descriptor)
      else delete (proto as Record<string, Method>)[name]
    }
  }
}
