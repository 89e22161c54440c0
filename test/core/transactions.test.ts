import { setTimeout as sleep } from 'node:timers/promises'
import {
  type Change,
  createFreshkey,
  dep,
  type Freshkey,
  type Store,
  TransactionStateError,
} from '@freshkey/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type CountingStore, counting, freshNamespace, storeCases } from './helpers.ts'

const update = (table: string, pk: number | string): Change => ({ table, kind: 'update', pk })

for (const c of storeCases()) {
  describe(`transactions (${c.name})`, () => {
    let inner: Store
    let probe: CountingStore
    let fk: Freshkey
    beforeAll(() => {
      inner = c.make()
    })
    afterEach(async () => {
      await fk.close()
    })
    afterAll(async () => {
      await inner.close()
    })
    const setup = (options: { bumpAttempts?: number } = {}) => {
      probe = counting(inner)
      fk = createFreshkey({ store: probe.store, namespace: freshNamespace('tx'), ...options })
      return fk
    }
    /** Key of each row, to tell which ones a commit bumped. */
    const rowKeys = (rows: [string, number][]) =>
      Promise.all(rows.map(([t, pk]) => fk.keyFor(dep.row(t, pk))))
    const bumped = async (rows: [string, number][], before: string[]) => {
      const after = await rowKeys(rows)
      return rows.filter((_, i) => after[i] !== before[i]).map(([t, pk]) => `${t}#${pk}`)
    }

    it('commit bumps every recorded change in exactly one store call, however many rows', async () => {
      setup()
      const tx = fk.transaction()
      for (let i = 0; i < 1000; i++) tx.record(update(`t${i % 5}`, i))
      tx.record({ table: 'logs', kind: 'bulk' })
      tx.record({ table: 't0', kind: 'insert', pk: 5000 })
      tx.record({ table: 't0', kind: 'delete', pk: 5001 })
      const watched: [string, number][] = [
        ['t0', 0],
        ['t4', 999],
        ['t0', 5000],
        ['t0', 5001],
        ['logs', 1],
        ['t1', 5000],
      ]
      const before = await rowKeys(watched)
      const table = await fk.keyFor(dep.table('t3'))
      probe.reset()
      await tx.commit()
      expect(probe.calls).toEqual({ bump: 1 })
      expect(await bumped(watched, before)).toEqual(['t0#0', 't4#999', 't0#5000', 't0#5001', 'logs#1'])
      expect(await fk.keyFor(dep.table('t3'))).not.toBe(table)
      expect(tx.state).toBe('committed')
    })

    it('a commit with nothing recorded makes no store call', async () => {
      setup()
      const tx = fk.transaction()
      probe.reset()
      await tx.commit()
      expect(probe.calls).toEqual({})
    })

    it('nothing is bumped before commit (bumps come after the database commit)', async () => {
      setup()
      const before = await rowKeys([['users', 1]])
      const tx = fk.transaction()
      tx.record(update('users', 1))
      probe.reset()
      expect(await rowKeys([['users', 1]])).toEqual(before)
      expect(probe.calls.bump).toBeUndefined()
      await tx.commit()
      expect(await rowKeys([['users', 1]])).not.toEqual(before)
    })

    it('rollback discards: no store call, no key changes', async () => {
      setup()
      const rows: [string, number][] = [['users', 1]]
      const before = await rowKeys(rows)
      const tx = fk.transaction()
      tx.record(update('users', 1))
      probe.reset()
      tx.rollback()
      expect(tx.state).toBe('rolledBack')
      expect(tx.changes).toEqual([])
      expect(probe.calls).toEqual({})
      expect(await bumped(rows, before)).toEqual([])
      // A second rollback is harmless.
      tx.rollback()
    })

    it('a committed savepoint merges into its parent and is bumped only with it', async () => {
      setup()
      const rows: [string, number][] = [
        ['users', 1],
        ['users', 2],
      ]
      const before = await rowKeys(rows)
      const tx = fk.transaction()
      tx.record(update('users', 1))
      const sp = tx.savepoint()
      sp.record(update('users', 2))
      probe.reset()
      await sp.commit()
      expect(probe.calls).toEqual({})
      expect(await bumped(rows, before)).toEqual([])
      expect(tx.changes).toHaveLength(2)
      await tx.commit()
      expect(probe.calls.bump).toBe(1)
      expect(await bumped(rows, before)).toEqual(['users#1', 'users#2'])
    })

    it('a rolled-back savepoint discards only its own changes', async () => {
      setup()
      const rows: [string, number][] = [
        ['users', 1],
        ['users', 2],
        ['users', 3],
      ]
      const before = await rowKeys(rows)
      const tx = fk.transaction()
      tx.record(update('users', 1))
      const sp = tx.savepoint()
      sp.record(update('users', 2))
      sp.rollback()
      tx.record(update('users', 3))
      await tx.commit()
      expect(await bumped(rows, before)).toEqual(['users#1', 'users#3'])
    })

    it('a rolled-back savepoint keeps a row the parent recorded too', async () => {
      setup()
      const rows: [string, number][] = [['users', 1]]
      const before = await rowKeys(rows)
      const tx = fk.transaction()
      tx.record(update('users', 1))
      const sp = tx.savepoint()
      sp.record(update('users', 1))
      sp.rollback()
      await tx.commit()
      expect(await bumped(rows, before)).toEqual(['users#1'])
    })

    it('nests three levels deep: each level commits into or rolls back from its parent', async () => {
      setup()
      const rows: [string, number][] = [0, 1, 2, 3, 4, 5, 6].map((i) => ['r', i])
      const before = await rowKeys(rows)
      const root = fk.transaction()
      root.record(update('r', 0))
      const l1 = root.savepoint()
      l1.record(update('r', 1))
      const l2 = l1.savepoint()
      l2.record(update('r', 2))
      const l3 = l2.savepoint()
      l3.record(update('r', 3))
      expect([root.depth, l1.depth, l2.depth, l3.depth]).toEqual([0, 1, 2, 3])
      expect(l3.parent).toBe(l2)
      await l3.commit() // r3 merges into l2 ...
      l2.rollback() // ... and goes with it.
      const l2b = l1.savepoint()
      l2b.record(update('r', 4))
      const l3b = l2b.savepoint()
      l3b.record(update('r', 5))
      const l3c = l2b.savepoint()
      l3c.record(update('r', 6))
      l3c.rollback()
      await l3b.commit()
      await l2b.commit()
      await l1.commit()
      probe.reset()
      await root.commit()
      expect(probe.calls).toEqual({ bump: 1 })
      expect(await bumped(rows, before)).toEqual(['r#0', 'r#1', 'r#4', 'r#5'])
    })

    it('a savepoint left open commits with its transaction; a rolled-back parent takes its savepoints with it', async () => {
      setup()
      const rows: [string, number][] = [
        ['a', 1],
        ['a', 2],
      ]
      const before = await rowKeys(rows)
      const tx = fk.transaction()
      const open = tx.savepoint()
      open.record(update('a', 1))
      await tx.commit()
      expect(open.state).toBe('committed')
      expect(await bumped(rows, before)).toEqual(['a#1'])

      const before2 = await rowKeys(rows)
      const tx2 = fk.transaction()
      const child = tx2.savepoint()
      child.record(update('a', 2))
      probe.reset()
      tx2.rollback()
      expect(child.state).toBe('rolledBack')
      expect(probe.calls).toEqual({})
      expect(await bumped(rows, before2)).toEqual([])
      await expect(child.commit()).rejects.toBeInstanceOf(TransactionStateError)
    })

    it('using a transaction after it ended throws TransactionStateError', async () => {
      setup()
      const tx = fk.transaction()
      tx.record(update('users', 1))
      await tx.commit()
      for (const use of [() => tx.record(update('users', 2)), () => tx.savepoint()]) {
        expect(use).toThrow(TransactionStateError)
      }
      await expect(tx.commit()).rejects.toMatchObject({ code: 'E_TRANSACTION_STATE' })
      const sp = fk.transaction().savepoint()
      await sp.commit()
      expect(() => sp.record(update('users', 3))).toThrow(TransactionStateError)
    })

    it('commit never rejects when bumps fail: it retries, then deletes the keys instead (a missing token is a fresh one)', async () => {
      setup()
      const row1 = await fk.keyFor(dep.row('users', 1))
      const unrelated = await fk.keyFor(dep.row('users', 2))
      const tx = fk.transaction()
      tx.record(update('users', 1))
      probe.failing.add('bump')
      probe.reset()
      await expect(tx.commit()).resolves.toBeUndefined()
      expect(probe.calls.bump).toBe(3)
      expect(probe.calls.delete).toBe(1)
      expect(fk.stats().storeErrors).toBeGreaterThanOrEqual(3)
      expect(tx.state).toBe('committed')
      probe.failing.delete('bump')
      expect(await fk.keyFor(dep.row('users', 1))).not.toBe(row1)
      expect(await fk.keyFor(dep.row('users', 2))).toBe(unrelated)
    })

    // Regression guard ("close() drops an owed epoch bump"): a process that shuts
    // down gracefully after a lost bump must still settle it when the store answers, or other
    // processes keep serving the values that bump should have invalidated.
    it('a bump that can be neither written nor deleted is owed: this process bypasses its tables, and pays it (close too)', async () => {
      setup()
      const namespace = fk.namespace
      const observer = createFreshkey({ store: inner, namespace, logger: false })
      try {
        const before = await observer.keyFor(dep.row('users', 2))
        let loads = 0
        await fk.wrap(['v', dep.row('users', 3)], () => ++loads)
        probe.failing.add('bump')
        probe.failing.add('delete')
        await fk.changed(update('users', 1))
        // Owed: values of the users table are loaded, not served, by the process that owes the bump.
        probe.failing.add('read')
        expect(await fk.wrap(['v', dep.row('users', 3)], () => ++loads)).toBe(2)
        probe.failing.delete('read')
        probe.failing.delete('bump')
        probe.failing.delete('delete')
        await fk.close()
        // Paid as a table-wide bump: every row of the table misses, in every process.
        expect(await observer.keyFor(dep.row('users', 2))).not.toBe(before)
      } finally {
        await observer.close()
      }
    })

    it('runInTransaction makes the transaction current across awaits, only inside its own context', async () => {
      setup()
      const a = fk.transaction()
      const b = fk.transaction()
      expect(fk.currentTransaction()).toBeUndefined()
      const seen = await Promise.all([
        fk.runInTransaction(a, async () => {
          await sleep(5)
          const first = fk.currentTransaction()
          await Promise.resolve()
          await new Promise((r) => setImmediate(r))
          return [first, fk.currentTransaction()]
        }),
        fk.runInTransaction(b, async () => {
          await sleep(1)
          return [fk.currentTransaction(), await Promise.resolve().then(() => fk.currentTransaction())]
        }),
      ])
      expect(seen).toEqual([
        [a, a],
        [b, b],
      ])
      expect(fk.currentTransaction()).toBeUndefined()
      // Once committed inside its context, it is no longer current.
      await fk.runInTransaction(a, async () => {
        await a.commit()
        expect(fk.currentTransaction()).toBeUndefined()
      })
    })

    it('read-your-writes: with a pending change, wrap calls the loader every time and stores nothing', async () => {
      setup()
      const deps = [dep.row('users', 1)]
      let loads = 0
      const tx = fk.transaction()
      tx.record(update('users', 1))
      const bypassesBefore = fk.stats().bypasses
      probe.reset()
      const inside = await fk.runInTransaction(tx, async () => {
        const out: string[] = []
        for (let i = 0; i < 3; i++) out.push(await fk.wrap(['v', ...deps], () => `inside-${++loads}`))
        return out
      })
      expect(inside).toEqual(['inside-1', 'inside-2', 'inside-3'])
      expect(probe.calls.write).toBeUndefined()
      expect(fk.stats().bypasses - bypassesBefore).toBe(3)
      tx.rollback()
      // Nothing loaded inside was kept: outside, the first call misses and loads afresh.
      expect(await fk.wrap(['v', ...deps], () => `outside-${++loads}`)).toBe('outside-4')
      expect(await fk.wrap(['v', ...deps], () => `outside-${++loads}`)).toBe('outside-4')
      expect(loads).toBe(4)
    })

    it('read-your-writes sees a pending change of an open savepoint and of a table-wide bulk change', async () => {
      setup()
      let loads = 0
      const tx = fk.transaction()
      const sp = tx.savepoint()
      sp.record(update('users', 1))
      sp.record({ table: 'posts', kind: 'bulk' })
      await fk.runInTransaction(tx, async () => {
        for (const deps of [
          [dep.row('users', 1)],
          [dep.table('users')],
          [dep.row('posts', 9)],
          [dep.all()],
        ]) {
          await fk.wrap(['v', ...deps], () => ++loads)
          await fk.wrap(['v', ...deps], () => ++loads)
        }
      })
      expect(loads).toBe(8)
      await tx.commit()
    })

    it('a value loaded inside a transaction is not stored, even for dependencies it did not touch', async () => {
      setup()
      const other = [dep.row('users', 2)]
      let loads = 0
      const tx = fk.transaction()
      tx.record(update('users', 1))
      probe.reset()
      await fk.runInTransaction(tx, () => fk.wrap(['v', ...other], () => `snapshot-${++loads}`))
      expect(probe.calls.write).toBeUndefined()
      await tx.commit()
      // users#2's tokens did not move: had the inside value been stored, this would be a hit.
      expect(await fk.wrap(['v', ...other], () => `fresh-${++loads}`)).toBe('fresh-2')
    })

    it('a value cached before the transaction is not served for a row it changed, and misses after commit', async () => {
      setup()
      const deps = [dep.row('users', 1)]
      expect(await fk.wrap(['v', ...deps], () => 'v1')).toBe('v1')
      const tx = fk.transaction()
      tx.record(update('users', 1))
      expect(await fk.runInTransaction(tx, () => fk.wrap(['v', ...deps], () => 'v2-inside'))).toBe(
        'v2-inside',
      )
      // Outside the transaction the old value is still current until the commit.
      expect(await fk.wrap(['v', ...deps], () => 'unexpected')).toBe('v1')
      await tx.commit()
      expect(await fk.wrap(['v', ...deps], () => 'v2')).toBe('v2')
    })
  })
}
