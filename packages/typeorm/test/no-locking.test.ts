import { randomUUID } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { dep, type Freshkey } from '@freshkey/core'
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm'
import { afterEach, describe, expect, test } from 'vitest'
import { freshkeyTypeORM } from '../src/index.ts'
import { Article, entities, User } from './support/entities.ts'
import { combos, openDataSource, openFreshkey } from './support/services.ts'

// Issue 11: updates of scoped fields once read a before image with `SELECT … FOR UPDATE`. That
// lock is stronger than the UPDATE's own (FOR NO KEY UPDATE) and conflicts with the KEY SHARE
// lock a foreign-key check takes, so two transactions that each were fine deadlocked; and a role
// without SELECT on a column could not write at all. Nothing of freshkey's runs in a user's
// transaction now.

describe.each(combos.filter(([db]) => db === 'postgres'))(
  'no locks, no extra reads on %s with %s store',
  (db, store) => {
    const cleanups: (() => Promise<void>)[] = []
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!()
    })

    async function open(withFreshkey: boolean): Promise<{ ds: DataSource; fk: Freshkey }> {
      const { ds, close } = await openDataSource(db, entities, { extra: { max: 4 } })
      cleanups.push(close)
      const f = openFreshkey(store)
      cleanups.push(f.close)
      f.fk.defineScope('app_users', ['name'])
      if (withFreshkey) {
        const binding = freshkeyTypeORM(ds, f.fk)
        cleanups.push(async () => binding.dispose())
      }
      await ds.getRepository(User).save([
        { id: 1, name: 'ada' },
        { id: 2, name: 'bob' },
      ])
      return { ds, fk: f.fk }
    }

    /**
     * T1 inserts an article of user 1 (its FK check takes KEY SHARE on user 1), T2 updates user 2,
     * then the scoped field of user 1, T1 then updates user 2. With a FOR UPDATE read of user 1 in
     * T2 (the old before image, or `lockFirst`), T2 waits for T1 and T1 for T2: a deadlock.
     */
    async function keyShareAgainstScopedUpdate(ds: DataSource, lockFirst = false): Promise<void> {
      const steps = new EventEmitter()
      const [shared, locked] = [once(steps, 'key shared'), once(steps, 'row 2 locked')]
      const t1 = ds.transaction(async (em) => {
        await em.insert(Article, { id: 50, title: 'fk', published: true, category: 'news', authorId: 1 })
        steps.emit('key shared')
        await locked
        await em.update(User, 2, { name: 't1' })
      })
      const t2 = ds.transaction(async (em) => {
        await shared
        await em.update(User, 2, { name: 't2' })
        steps.emit('row 2 locked')
        if (lockFirst) await em.query('SELECT name FROM app_users WHERE id = 1 FOR UPDATE')
        await em.update(User, 1, { name: 'scoped' })
      })
      const results = await Promise.allSettled([t1, t2])
      const failed = results.find((r) => r.status === 'rejected')
      if (failed) throw (failed as PromiseRejectedResult).reason
    }

    test('control: a FOR UPDATE read of the row before the update deadlocks against the FK check', async () => {
      const { ds } = await open(false)
      await expect(keyShareAgainstScopedUpdate(ds, true)).rejects.toThrow(/deadlock/)
    })

    test.each([false, true])(
      'regression: KEY SHARE vs a scoped update succeeds (freshkey: %s)',
      async (withFreshkey) => {
        const { ds, fk } = await open(withFreshkey)
        const before = await fk.keyFor(dep.row('app_users', 1))
        await keyShareAgainstScopedUpdate(ds)
        expect((await ds.getRepository(User).findOneByOrFail({ id: 1 })).name).toBe('scoped')
        await fk.idle()
        if (withFreshkey) expect(await fk.keyFor(dep.row('app_users', 1))).not.toBe(before)
      },
    )

    @Entity({ name: 'private_notes' })
    class Note {
      @PrimaryColumn('integer') id!: number
      @Column('varchar') title!: string
      @Column('varchar') secret!: string
    }

    test('regression: a role without SELECT on a column can still write through freshkey', async () => {
      const { ds: admin } = await openDataSource(db, [Note], { synchronize: true })
      cleanups.push(() => (admin.isInitialized ? admin.destroy() : Promise.resolve()))
      const role = `fk_writer_${randomUUID().replace(/-/g, '').slice(0, 10)}`
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`)
      cleanups.push(async () => {
        await admin.query(`DROP OWNED BY ${role}`)
        await admin.query(`DROP ROLE ${role}`)
      })
      await admin.query(`GRANT SELECT (id, title) ON private_notes TO ${role}`)
      await admin.query(`GRANT INSERT, UPDATE (title, secret), DELETE ON private_notes TO ${role}`)
      await admin.query(`INSERT INTO private_notes (id, title, secret) VALUES (1, 'a', 's'), (2, 'b', 't')`)
      const url = new URL((admin.options as { url: string }).url)
      url.username = role
      url.password = 'pw'
      const ds = new DataSource({ type: 'postgres', url: url.toString(), entities: [Note] })
      await ds.initialize()
      cleanups.push(() => ds.destroy())
      const f = openFreshkey(store)
      cleanups.push(f.close)
      // With `title` in a scope too, `update(1, { title })` lacks `secret`, which the role may not
      // read back: the RETURNING freshkey adds fails, the update runs again as written and widens.
      f.fk.defineScope('private_notes', [['secret'], ['title', 'secret']])
      const binding = freshkeyTypeORM(ds, f.fk)
      cleanups.push(async () => binding.dispose())
      const notes = ds.getRepository(Note)
      const scoped = dep.scope('private_notes', { title: 'a', secret: 's' })
      const before = await f.fk.keyFor(scoped)
      const renamed = await notes.update(1, { title: 'a' })
      expect(renamed.affected).toBe(1)
      expect(renamed.raw).toEqual([])
      await f.fk.idle()
      expect(await f.fk.keyFor(scoped)).not.toBe(before)
      await notes.update(1, { secret: 'changed' })
      await ds.transaction((em) => em.update(Note, 2, { secret: 'in tx', title: 'bb' }))
      await ds.createQueryBuilder().update(Note).set({ secret: 'qb' }).where({ id: 1 }).execute()
      await notes.insert({ id: 3, title: 'c', secret: 'u' })
      await notes.delete(3)
      await expect(notes.findOneBy({ id: 1 })).rejects.toThrow(/permission denied/)
      expect(await notes.find({ select: { id: true, title: true }, order: { id: 'ASC' } })).toEqual([
        { id: 1, title: 'a' },
        { id: 2, title: 'bb' },
      ])
      expect(f.fk.stats().adapterErrors).toBe(0)
    })
  },
)
