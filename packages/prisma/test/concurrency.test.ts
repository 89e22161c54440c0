import { setTimeout as sleep, setImmediate as yieldToIo } from 'node:timers/promises'
import { Binding } from '@freshkey/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PrismaBinding } from '../src/prisma-binding.ts'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

const IDS = [1, 2, 3, 4, 5, 6]
const CATEGORIES = ['tech', 'news']

interface Row {
  id: number
  views: number
  category: string
}

/**
 * DESIGN rule 2 with fenced commits: concurrent writers (autocommit updates, fenced in parallel
 * with their statement, and interactive transactions, fenced in parallel with COMMIT) and readers
 * of cached values with automatic dependencies, counting stale reads — a read that started after a
 * write's call returned but saw older data. `views` grows by one per write, so an older row is a
 * smaller `views`; a list of tech articles is stale when it disagrees with the category of a row no
 * write touched during the read. The second case removes the bumps to prove the count sees staleness.
 */
describe.each(matrix().filter((c) => c.db === 'postgres'))(
  'concurrency on $db with $store store',
  (combo) => {
    let f: Fixture
    beforeAll(async () => {
      f = await openFixture(combo)
    })
    afterAll(() => f?.close())

    async function run(durationMs: number, tag: string) {
      await f.db.sql('DELETE FROM blog_articles')
      await f.db.base.user.upsert({ where: { id: 1 }, create: { id: 1, name: 'w' }, update: {} })
      await f.db.base.article.createMany({
        data: IDS.map((id) => ({ id, title: `t${id}`, published: true, category: 'tech', authorId: 1 })),
      })
      await f.fk.invalidate('blog_articles#*')
      const committed = new Map<number, Row>(IDS.map((id) => [id, { id, views: 0, category: 'tech' }]))
      const inflight = new Map<number, number>(IDS.map((id) => [id, 0]))
      const started = new Map<number, number>(IDS.map((id) => [id, 0]))
      let writes = 0
      let reads = 0
      let staleRows = 0
      let staleMembership = 0
      const stop = Date.now() + durationMs
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
          // Every write fences its table until it commits, and a load that overlaps one is not stored:
          // writers that never pause would leave nothing to cache.
          await sleep(Math.random() * 20)
        }
      }

      const rowReader = async () => {
        while (Date.now() < stop) {
          const id = pick()
          const floor = committed.get(id)!.views
          const row = await f.fk.wrap(
            `${tag}:article:${id}`,
            () => f.prisma.article.findUniqueOrThrow({ where: { id } }),
            {
              ttl: 60,
            },
          )
          if (row.views < floor) staleRows++
          reads++
          // A memory-store hit never leaves the microtask queue: let the writers' I/O in.
          await yieldToIo()
        }
      }

      const listReader = async (native: boolean) => {
        while (Date.now() < stop) {
          const quiet = new Map(IDS.map((id) => [id, inflight.get(id) === 0 ? started.get(id) : -1]))
          const floors = new Map(IDS.map((id) => [id, committed.get(id)!]))
          const args = { where: { published: true, category: 'tech' }, select: { id: true } }
          const list = native
            ? await f.prisma.article.cached({ ttl: 60 }).findMany(args)
            : await f.fk.wrap(`${tag}:tech`, () => f.prisma.article.findMany(args), { ttl: 60 })
          const seen = new Set(list.map((r) => r.id))
          for (const id of IDS) {
            // No write on this row started or ran during the read: the list must show its committed state.
            const untouched = quiet.get(id) === started.get(id) && inflight.get(id) === 0
            if (untouched && seen.has(id) !== (floors.get(id)!.category === 'tech')) staleMembership++
          }
          reads++
          await yieldToIo()
        }
      }

      await Promise.all([
        ...[0, 1, 2, 3].map(writer),
        ...Array.from({ length: 6 }, rowReader),
        listReader(false),
        listReader(false),
        listReader(true),
      ])
      const stats = f.fk.stats()
      console.log(
        `concurrency ${tag} ${combo.db}/${combo.store}: ${writes} writes, ${reads} reads, ${stats.hits} hits, ${stats.misses} misses, stale: ${staleRows} rows, ${staleMembership} list memberships`,
      )
      return { writes, reads, hits: stats.hits, stale: staleRows + staleMembership }
    }

    it('no read that starts after a write returned sees older data', { timeout: 60_000 }, async () => {
      const r = await run(5000, 'fenced')
      expect(r.writes + r.reads).toBeGreaterThan(200)
      expect(r.hits).toBeGreaterThan(0)
      expect(r.stale).toBe(0)
    })

    it('the same workload with the bumps removed does see stale reads (the count above can fail)', {
      timeout: 60_000,
    }, async () => {
      const root = (f.db.base as unknown as { _originalClient: object })._originalClient
      const binding = Binding.on(root).find((b) => b.fk === f.fk) as PrismaBinding
      const { record, autocommit } = binding
      binding.record = async () => {}
      binding.autocommit = (_facts, statement) => statement()
      try {
        const r = await run(2000, 'unfenced')
        expect(r.stale).toBeGreaterThan(0)
      } finally {
        binding.record = record
        binding.autocommit = autocommit
      }
    })
  },
)
