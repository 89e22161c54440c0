import { createFreshkey, dep, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { DataSource, type EntitySubscriberInterface } from 'typeorm'
import { afterEach, describe, expect, test } from 'vitest'
import { AdapterInactiveError, AdapterSetupError, freshkeyTypeORM } from '../src/index.ts'
import { Article, entities, User } from './support/entities.ts'
import { bumpCounter, watch } from './support/probe.ts'
import { databases, openDataSource, openFreshkey } from './support/services.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function open(db: (typeof databases)[number]) {
  const { ds, close } = await openDataSource(db, entities)
  const { fk, close: closeFk } = openFreshkey('memory')
  cleanups.push(closeFk, close)
  return { ds, fk }
}

describe('registration', () => {
  test('regression: TypeORM drops a subscriber pushed before initialize(); ours is kept and receives events', async () => {
    const ds = new DataSource({ type: 'sqljs', entities, synchronize: true })
    const plain: EntitySubscriberInterface = { afterInsert: () => {} }
    ds.subscribers.push(plain)
    const fk = createFreshkey({ store: memoryStore(), namespace: 'before-init' })
    const handle = freshkeyTypeORM(ds, fk)
    await ds.initialize()
    cleanups.push(() => ds.destroy())
    expect(ds.subscribers).not.toContain(plain)
    expect(handle.active).toBe(true)
    await handle.verify()
    const { moved } = await watch(fk, [dep.row('app_users', 5)])
    await ds.getRepository(User).save({ id: 5, name: 'e' })
    expect(await moved()).toEqual(['app_users#5'])
  })

  test('regression: a subscriber class only named in the options (no @EventSubscriber) never runs', async () => {
    let calls = 0
    class Counting implements EntitySubscriberInterface {
      afterInsert() {
        calls++
      }
    }
    const ds = new DataSource({ type: 'sqljs', entities, synchronize: true, subscribers: [Counting] })
    await ds.initialize()
    cleanups.push(() => ds.destroy())
    await ds.getRepository(User).save({ id: 6, name: 'f' })
    expect(calls).toBe(0)
    const handle = freshkeyTypeORM(ds, createFreshkey({ store: memoryStore(), namespace: 'opts' }))
    await handle.verify()
  })

  test.each(databases)('after initialize() on %s: active, verified, events arrive', async (db) => {
    const { ds, fk } = await open(db)
    const handle = freshkeyTypeORM(ds, fk)
    expect(handle.active).toBe(true)
    await handle.verify()
    const { moved } = await watch(fk, [dep.row('app_users', 3)])
    await ds.getRepository(User).save({ id: 3, name: 'c' })
    expect(await moved()).toEqual(['app_users#3'])
  })

  test.each(databases)(
    'registering twice on %s returns the same handle and bumps once per commit',
    async (db) => {
      const { ds, fk } = await open(db)
      const first = freshkeyTypeORM(ds, fk)
      const second = freshkeyTypeORM(ds, fk)
      expect(second).toBe(first)
      expect(ds.subscribers.filter((s) => (s as { binding?: unknown }).binding).length).toBe(1)
      const bumps = bumpCounter(fk)
      const { moved } = await watch(fk, [dep.row('app_users', 4)])
      await ds.transaction((em) => em.save(User, { id: 4, name: 'd' }))
      expect(await moved()).toEqual(['app_users#4'])
      expect(bumps()).toBe(1)
      first.dispose()
    },
  )

  test('dispose(): the subscriber leaves, writes are no longer seen, verify() refuses', async () => {
    const { ds, fk } = await open('sqlite')
    const handle = freshkeyTypeORM(ds, fk)
    handle.dispose()
    expect(handle.active).toBe(false)
    expect(ds.subscribers.some((s) => (s as { binding?: unknown }).binding)).toBe(false)
    const bumps = bumpCounter(fk)
    await ds.getRepository(User).save({ id: 8, name: 'h' })
    await ds.getRepository(User).update(8, { name: 'i' })
    expect(bumps()).toBe(0)
    await expect(handle.verify()).rejects.toThrow(/disposed/)
    const again = freshkeyTypeORM(ds, fk)
    expect(again).not.toBe(handle)
    again.dispose()
  })

  test('verify() fails when TypeORM stops delivering events to the subscriber', async () => {
    const { ds, fk } = await open('sqlite')
    const handle = freshkeyTypeORM(ds, fk)
    // Replace the array behind TypeORM's back, the way a misbehaving plugin could.
    Object.defineProperty(ds, 'subscribers', { value: [], writable: true, configurable: true })
    expect(handle.active).toBe(false)
    await expect(handle.verify()).rejects.toBeInstanceOf(AdapterInactiveError)
    handle.dispose()
  })

  test('MongoDB is refused with a coded error', () => {
    const fake = { options: { type: 'mongodb' } } as unknown as DataSource
    const fk = createFreshkey({ store: memoryStore(), namespace: 'mongo' })
    expect(() => freshkeyTypeORM(fake, fk)).toThrow(AdapterSetupError)
    try {
      freshkeyTypeORM(fake, fk)
    } catch (error) {
      expect((error as AdapterSetupError).code).toBe('E_ADAPTER_SETUP')
    }
  })

  test.each(databases)('an unreachable store never fails a write on %s', async (db) => {
    const { ds } = await open(db)
    const store = redisStore('redis://127.0.0.1:1', { timeout: 100 })
    const fk = createFreshkey({ store, namespace: 'down', bumpAttempts: 1 })
    const errors: unknown[] = []
    const handle = freshkeyTypeORM(ds, fk, { onError: (e) => errors.push(e) })
    cleanups.push(async () => {
      handle.dispose()
      await fk.close()
      await store.close()
    })
    await ds.getRepository(User).save({ id: 9, name: 'j' })
    await ds.transaction((em) =>
      em.update(Article, 1, { title: 'x' }).then(() => em.update(User, 9, { name: 'k' })),
    )
    await ds.getRepository(User).update(9, { name: 'l' })
    expect((await ds.getRepository(User).findOneByOrFail({ id: 9 })).name).toBe('l')
    expect(fk.stats().storeErrors).toBeGreaterThan(0)
  })
})
