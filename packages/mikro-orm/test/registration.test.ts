import { createFreshkey, dep, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { afterEach, describe, expect, test } from 'vitest'
import {
  AdapterDisposedError,
  AdapterInactiveError,
  AdapterSetupError,
  FreshkeySubscriber,
  freshkeyMikroORM,
} from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, entities } from './support/entities.ts'
import { watchBumps } from './support/observe.ts'
import { seed } from './support/seed.ts'

const HOOKS = [
  'onFlush',
  'afterFlush',
  'afterUpsert',
  'beforeTransactionStart',
  'afterTransactionStart',
  'beforeTransactionCommit',
  'afterTransactionCommit',
  'afterTransactionRollback',
] as const

describe.each(backends)('registration ($name)', (backend) => {
  const open: OpenOrm[] = []
  const fks: Freshkey[] = []
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close()
    for (const fk of fks.splice(0)) await fk.store.close()
  })
  async function setup(options: Parameters<typeof openOrm>[1] = {}) {
    const ctx = await openOrm(backend.db, { entities, ...options })
    open.push(ctx)
    await seed(ctx.orm.em)
    return ctx
  }
  function freshkey(): Freshkey {
    const fk = makeFreshkey(backend.store)
    fks.push(fk)
    return fk
  }
  async function rename(ctx: OpenOrm, title: string): Promise<void> {
    const e = ctx.orm.em.fork()
    const a = await e.findOneOrFail(Article, 1)
    a.title = title
    await e.flush()
  }

  test('registering twice returns the same handle and never bumps twice', async () => {
    const ctx = await setup()
    const fk = freshkey()
    const first = freshkeyMikroORM(ctx.orm, fk)
    expect(freshkeyMikroORM(ctx.orm, fk)).toBe(first)
    const bumps = watchBumps(fk)
    await rename(ctx, 'once')
    expect(bumps.calls).toHaveLength(1)
    bumps.stop()
    first.dispose()
  })

  test('a FreshkeySubscriber from the init options is adopted, not doubled', async () => {
    const fk = freshkey()
    const subscriber = new FreshkeySubscriber(fk)
    const ctx = await setup({ subscribers: [subscriber] })
    const handle = freshkeyMikroORM(ctx.orm, fk)
    expect(handle.subscriber).toBe(subscriber)
    const bumps = watchBumps(fk)
    await rename(ctx, 'adopted')
    expect(bumps.calls).toHaveLength(1)
    expect(bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    bumps.stop()
    handle.dispose()
  })

  test('a FreshkeySubscriber alone binds itself on the first event', async () => {
    const fk = freshkey()
    const ctx = await setup({ subscribers: [new FreshkeySubscriber(fk)] })
    const bumps = watchBumps(fk)
    await rename(ctx, 'self-bound')
    expect(bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    const a = await ctx.orm.em.fork().findOneOrFail(Article, 1)
    expect(fk.tokenKeysOf([a])).toEqual(fk.tokenKeysOf([dep.row('blog_articles', 1)]))
    bumps.stop()
    // The self-made binding is adopted by a later registration, whose handle disposes it.
    freshkeyMikroORM(ctx.orm, fk).dispose()
  })

  test('every subscribed hook fires', async () => {
    const ctx = await setup()
    const fk = freshkey()
    const handle = freshkeyMikroORM(ctx.orm, fk)
    const counts = Object.fromEntries(HOOKS.map((h) => [h, 0])) as Record<(typeof HOOKS)[number], number>
    const sub = handle.subscriber as unknown as Record<string, (args: unknown) => unknown>
    for (const name of HOOKS) {
      const original = sub[name]!.bind(sub)
      sub[name] = (args) => {
        counts[name]++
        return original(args)
      }
    }
    await rename(ctx, 'flushed')
    await ctx.orm.em
      .fork()
      .upsert(Article, { id: 2, title: 'up', published: true, category: 'tech', author: 2 })
    await ctx.orm.em
      .fork()
      .transactional(async () => {
        throw new Error('rollback')
      })
      .catch(() => {})
    expect(counts).toEqual(Object.fromEntries(HOOKS.map((h) => [h, expect.any(Number)])))
    for (const name of HOOKS) expect(counts[name], name).toBeGreaterThan(0)
    handle.dispose()
  })

  test('dispose stops capturing, unregisters, and a new registration works again', async () => {
    const ctx = await setup()
    const proto = Object.getPrototypeOf(ctx.orm.em)
    const original = proto.nativeUpdate
    const fk = freshkey()
    const handle = freshkeyMikroORM(ctx.orm, fk)
    expect(proto.nativeUpdate).not.toBe(original)
    const a = await ctx.orm.em.fork().findOneOrFail(Article, 1)
    expect(fk.tokenKeysOf([a])).toEqual(fk.tokenKeysOf([dep.row('blog_articles', 1)]))
    handle.dispose()
    handle.dispose()
    expect(proto.nativeUpdate).toBe(original)
    expect(() => fk.tokenKeysOf([Article])).toThrow()
    const bumps = watchBumps(fk)
    await rename(ctx, 'after dispose')
    await ctx.orm.em.fork().nativeUpdate(Article, 1, { title: 'native after dispose' })
    expect(bumps.calls).toHaveLength(0)
    const again = freshkeyMikroORM(ctx.orm, fk)
    expect(again).not.toBe(handle)
    await rename(ctx, 'registered again')
    expect(bumps.calls).toHaveLength(1)
    bumps.stop()
    again.dispose()
  })

  test('verify() passes when every hook fires, and names the one that does not', async () => {
    const ctx = await setup()
    const fk = freshkey()
    const handle = freshkeyMikroORM(ctx.orm, fk)
    await expect(handle.verify()).resolves.toBeUndefined()
    const driver = ctx.orm.em.getDriver() as unknown as { find: unknown }
    const find = driver.find
    driver.find = function replaced() {}
    try {
      await expect(handle.verify()).rejects.toThrow(AdapterInactiveError)
      await expect(handle.verify()).rejects.toThrow(/driver\.find/)
    } finally {
      driver.find = find
    }
    handle.dispose()
    await expect(handle.verify()).rejects.toThrow(AdapterDisposedError)
  })

  test('bad arguments are AdapterSetupErrors', async () => {
    const ctx = await setup()
    expect(() => freshkeyMikroORM({} as never, freshkey())).toThrow(AdapterSetupError)
    expect(() => freshkeyMikroORM(ctx.orm, {} as never)).toThrow(
      expect.objectContaining({ code: 'E_ADAPTER_SETUP' }),
    )
    expect(() => new FreshkeySubscriber(undefined as never)).toThrow(AdapterSetupError)
  })

  test('a store that is down never fails the write', async () => {
    const ctx = await setup()
    const inner = memoryStore()
    const broken: Store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'bump' || prop === 'tokens' || prop === 'delete')
          return async () => Promise.reject(new Error('store down'))
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const fk = createFreshkey({ store: broken, namespace: 'broken', bumpAttempts: 1 })
    const handle = freshkeyMikroORM(ctx.orm, fk)
    await rename(ctx, 'written anyway')
    await ctx.orm.em.fork().nativeUpdate(Article, 2, { title: 'also written' })
    const e = ctx.orm.em.fork()
    expect((await e.findOneOrFail(Article, 1)).title).toBe('written anyway')
    expect((await e.findOneOrFail(Article, 2)).title).toBe('also written')
    handle.dispose()
    await fk.close()
  })

  test('a failing capture option is reported and widens to a bulk change', async () => {
    const ctx = await setup()
    const fk = freshkey()
    const errors: unknown[] = []
    const handle = freshkeyMikroORM(ctx.orm, fk, {
      onError: (e) => errors.push(e),
      rawSql: () => {
        throw new Error('bad option')
      },
    })
    const bumps = watchBumps(fk)
    await ctx.orm.em.fork().execute('update blog_articles set title = title where id = 0')
    expect(errors).toEqual([expect.objectContaining({ message: 'bad option' })])
    expect(fk.stats().adapterErrors).toBe(1)
    expect(bumps.bumped(dep.row('blog_articles', 1), dep.row('app_users', 1))).toBe(true)
    bumps.stop()
    handle.dispose()
  })
})
