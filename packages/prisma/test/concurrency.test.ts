import { setImmediate as yieldToIo } from 'node:timers/promises'
import { dep } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

const IDS = [1, 2, 3, 4, 5, 6]
const DURATION_MS = 5000
const CATEGORIES = ['tech', 'news']

interface Row {
  id: number
  views: number
  category: string
}

/**
 * Requirement 10: concurrent writers and readers through `fk.wrap`, counting stale reads — a read
 * that started after a write's call returned but saw older data. `views` grows by one per write,
 * so an older row is a smaller `views`; a scope list (ids of published tech articles, cached under
 * `dep.scope`) is stale when it disagrees with the category of a row no write touched during the read.
 */
describe.each(matrix().filter((c) => c.db === 'postgres'))(
  'concurrency on $db with $store store',
  (combo) => {
    let f: Fixture
    beforeAll(async () => {
      f = await openFixture(combo)
      await f.db.base.user.create({ data: { id: 1, name: 'w' } })
      await f.db.base.article.createMany({
        data: IDS.map((id) => ({ id, title: `t${id}`, published: true, category: 'tech', authorId: 1 })),
      })
    })
    afterAll(() => f?.close())

    it('no read that starts after a write returned sees older data', { timeout: 60_000 }, async () => {
      const committed = new Map<number, Row>(IDS.map((id) => [id, { id, views: 0, category: 'tech' }]))
      const inflight = new Map<number, number>(IDS.map((id) => [id, 0]))
      const started = new Map<number, number>(IDS.map((id) => [id, 0]))
      let writes = 0
      let reads = 0
      let staleRows = 0
      let staleMembership = 0
      const stop = Date.now() + DURATION_MS
      const pick = () => IDS[Math.floor(Math.random() * IDS.length)]!

      const writer = async (n: number) => {
        while (Date.now() < stop) {
          const id = pick()
          const category = CATEGORIES[Math.floor(Math.random() * 2)]!
          inflight.set(id, inflight.get(id)! + 1)
          started.set(id, started.get(id)! + 1)
          const data = { views: { increment: 1 }, category }
          const row =
            n % 2 === 0
              ? await f.prisma.article.update({ where: { id }, data })
              : await f.prisma.$transaction(async (tx) => tx.article.update({ where: { id }, data }))
          if (row.views > committed.get(id)!.views)
            committed.set(id, { id, views: row.views, category: row.category })
          inflight.set(id, inflight.get(id)! - 1)
          writes++
        }
      }

      const rowReader = async () => {
        while (Date.now() < stop) {
          const id = pick()
          const floor = committed.get(id)!.views
          const row = await f.fk.wrap(
            [dep.row('blog_articles', id)],
            () => f.prisma.article.findUniqueOrThrow({ where: { id } }),
            { ttl: 60 },
          )
          if (row.views < floor) staleRows++
          reads++
          // A memory-store hit never leaves the microtask queue: let the writers' I/O in.
          await yieldToIo()
        }
      }

      const listReader = async () => {
        while (Date.now() < stop) {
          const floors = new Map(IDS.map((id) => [id, committed.get(id)!]))
          const quiet = new Map(IDS.map((id) => [id, inflight.get(id) === 0 ? started.get(id) : -1]))
          const list = await f.fk.wrap(
            [dep.scope('blog_articles', { published: true, category: 'tech' })],
            () =>
              f.prisma.article.findMany({
                where: { published: true, category: 'tech' },
                select: { id: true },
              }),
            { ttl: 60 },
          )
          const seen = new Map(list.map((r) => [r.id, r]))
          for (const id of IDS) {
            const floor = floors.get(id)!
            const got = seen.get(id)
            // No write on this row started or ran during the read: the list must show its committed state.
            const untouched = quiet.get(id) === started.get(id) && inflight.get(id) === 0
            if (untouched && (got !== undefined) !== (floor.category === 'tech')) staleMembership++
          }
          reads++
          await yieldToIo()
        }
      }

      await Promise.all([
        ...[0, 1, 2, 3].map(writer),
        ...Array.from({ length: 6 }, rowReader),
        ...Array.from({ length: 3 }, listReader),
      ])
      const stale = staleRows + staleMembership
      const stats = f.fk.stats()
      console.log(
        `concurrency ${combo.db}/${combo.store}: ${writes} writes, ${reads} reads, ${stats.hits} hits, ${stats.misses} misses, stale: ${staleRows} rows, ${staleMembership} list memberships`,
      )
      expect(writes + reads).toBeGreaterThan(1000)
      expect(stats.hits).toBeGreaterThan(0)
      expect(stale).toBe(0)
    })
  },
)
