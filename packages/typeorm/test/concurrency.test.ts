import 'reflect-metadata'
import { setImmediate as yieldToIo } from 'node:timers/promises'
import type { Freshkey } from '@freshkey/core'
import { Column, type DataSource, Entity, PrimaryColumn } from 'typeorm'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { freshkeyTypeORM, type TypeORMBinding } from '../src/index.ts'
import { combos, openDataSource, openFreshkey } from './support/services.ts'

@Entity({ name: 'counters' })
class Counter {
  @PrimaryColumn('integer') id!: number
  @Column('integer') version!: number
}

const IDS = 16
const WRITERS = 8
const READERS = 16
const WRITES = 1200
const MAX_MS = 12_000

/**
 * Writers bump per-row versions (the database orders them); readers read through `fk.wrap`. A read
 * is stale when it returns a version lower than one whose write call had already returned before
 * the read started (DESIGN rule 2).
 */
async function workload(ds: DataSource, fk: Freshkey) {
  const repo = ds.getRepository(Counter)
  const floor = new Array<number>(IDS + 1).fill(0)
  let writes = 0
  let reads = 0
  let stale = 0
  const deadline = Date.now() + MAX_MS
  const pick = () => 1 + Math.floor(Math.random() * IDS)
  const writer = async (n: number) => {
    for (let i = 0; writes < WRITES && Date.now() < deadline; i++) {
      const id = pick()
      const version =
        (n + i) % 2 === 0
          ? await ds.transaction(async (em) => {
              await em.increment(Counter, { id }, 'version', 1)
              return (await em.findOneByOrFail(Counter, { id })).version
            })
          : await ds.transaction(async (em) => {
              const c = await em.findOneOrFail(Counter, {
                where: { id },
                lock: { mode: 'pessimistic_write' },
              })
              c.version += 1
              await em.save(c)
              return c.version
            })
      floor[id] = Math.max(floor[id]!, version)
      writes++
    }
  }
  let writing = true
  const reader = async () => {
    while (writing) {
      const id = pick()
      const atStart = floor[id]!
      // No declared dependencies: the row the loader read is its dependency.
      const seen = await fk.wrap(`counter:${id}`, () => repo.findOneByOrFail({ id }).then((c) => c.version), {
        ttl: 600,
      })
      if (seen < atStart) stale++
      reads++
      // A memory-store hit never waits for I/O: yield so the writers' sockets are served.
      await yieldToIo()
    }
  }
  const readers = Array.from({ length: READERS }, reader)
  await Promise.all(Array.from({ length: WRITERS }, (_, n) => writer(n)))
  writing = false
  await Promise.all(readers)
  return { writes, reads, stale }
}

describe.each(combos.filter(([db]) => db === 'postgres'))(
  'concurrent writers and readers on %s with %s store',
  (db, store) => {
    let ds: DataSource
    let fk: Freshkey
    let handle: TypeORMBinding
    let close: () => Promise<void>
    beforeEach(async () => {
      const opened = await openDataSource(db, [Counter], { extra: { max: WRITERS + READERS + 4 } })
      const f = openFreshkey(store)
      ds = opened.ds
      fk = f.fk
      handle = freshkeyTypeORM(ds, fk)
      await ds
        .getRepository(Counter)
        .insert(Array.from({ length: IDS }, (_, i) => ({ id: i + 1, version: 0 })))
      close = async () => {
        handle.dispose()
        await opened.close()
        await f.close()
      }
    })
    afterEach(() => close())

    test('no read that starts after a write returned sees older data', async () => {
      const { writes, reads, stale } = await workload(ds, fk)
      expect(writes).toBeGreaterThanOrEqual(500)
      expect(reads).toBeGreaterThanOrEqual(1000)
      expect(fk.stats().hits).toBeGreaterThan(0)
      expect(stale).toBe(0)
    }, 40_000)

    test('control: the same workload without the adapter reads stale data (the check can fail)', async () => {
      handle.dispose()
      const { stale } = await workload(ds, fk)
      expect(stale).toBeGreaterThan(0)
    }, 40_000)
  },
)
