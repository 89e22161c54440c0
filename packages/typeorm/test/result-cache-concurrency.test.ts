import { setTimeout as sleep, setImmediate as yieldToIo } from 'node:timers/promises'
import type { Freshkey } from '@freshkey/core'
import { Column, type DataSource, Entity, Index, PrimaryColumn } from 'typeorm'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { freshkeyQueryResultCache, freshkeyTypeORM, type TypeORMBinding } from '../src/index.ts'
import { combos, openDataSource, openFreshkey } from './support/services.ts'

@Entity({ name: 'rc_posts' })
class RcPost {
  @PrimaryColumn('integer') id!: number
  @Column('integer') version!: number
  @Index() @Column('varchar') category!: string
}

const POSTS = 64
const CATEGORIES = 8
const WRITERS = 4
const READERS = 12
const MS = 6000

/**
 * Writers bump per-row versions (autocommit updates and transactions); readers list a category
 * through `find({ cache: true })`. A read is stale when a row shows a version lower than one
 * whose write call had returned before the read started (DESIGN rule 2).
 */
async function workload(ds: DataSource) {
  const repo = ds.getRepository(RcPost)
  const floor = new Array<number>(POSTS + 1).fill(0)
  let writes = 0
  let reads = 0
  let stale = 0
  const end = Date.now() + MS
  const writer = async (n: number) => {
    for (let i = 0; Date.now() < end; i++) {
      const id = 1 + Math.floor(Math.random() * POSTS)
      const version =
        (n + i) % 2 === 0
          ? await ds.transaction(async (em) => {
              await em.increment(RcPost, { id }, 'version', 1)
              return (await em.findOneByOrFail(RcPost, { id })).version
            })
          : await (async () => {
              await repo.increment({ id }, 'version', 1)
              return 0
            })()
      floor[id] = Math.max(floor[id]!, version)
      writes++
      // A fill is refused when a row it read was written during its load: writers that never pause
      // leave nothing to cache on a loaded machine (CI saw 0 hits once), and `hits > 0` checks the cache is used.
      await sleep(Math.random() * 4)
    }
  }
  let writing = true
  const reader = async () => {
    while (writing) {
      const cat = Math.floor(Math.random() * CATEGORIES)
      const atStart = floor.slice()
      const list = await repo.find({ where: { category: `c${cat}` }, order: { id: 'ASC' }, cache: 60_000 })
      for (const p of list) if (p.version < atStart[p.id]!) stale++
      reads++
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
  'the query result cache under concurrent writes on %s with %s store',
  (db, store) => {
    let ds: DataSource
    let fk: Freshkey
    let binding: TypeORMBinding
    let close: () => Promise<void>
    beforeEach(async () => {
      const f = openFreshkey(store)
      fk = f.fk
      const opened = await openDataSource(db, [RcPost], {
        extra: { max: WRITERS + READERS + 4 },
        cache: { provider: freshkeyQueryResultCache(fk), duration: 60_000 },
      })
      ds = opened.ds
      binding = freshkeyTypeORM(ds, fk)
      await ds.getRepository(RcPost).insert(
        Array.from({ length: POSTS }, (_, i) => ({
          id: i + 1,
          version: 0,
          category: `c${i % CATEGORIES}`,
        })),
      )
      close = async () => {
        binding.dispose()
        await opened.close()
        await f.close()
      }
    })
    afterEach(() => close())

    test('no read that starts after a write returned sees older rows', async () => {
      const { writes, reads, stale } = await workload(ds)
      expect(writes).toBeGreaterThan(200)
      expect(reads).toBeGreaterThan(500)
      expect(fk.stats().hits).toBeGreaterThan(0)
      expect(stale).toBe(0)
    }, 40_000)

    test('control: with the bumps removed the cached lists go stale (the check can fail)', async () => {
      const b = binding as unknown as Record<string, unknown>
      b.record = async () => {}
      b.autocommit = (_facts: unknown, run: () => Promise<unknown>) => run()
      const { stale } = await workload(ds)
      expect(stale).toBeGreaterThan(0)
    }, 40_000)
  },
)
