import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { dep } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { matrix } from './support/harness.ts'
import { type Fixture, openFixture } from './support/setup.ts'

/**
 * Regression: a before image read without the row lock could predate a concurrent writer's
 * change, and the row's move out of that writer's scope was never invalidated. PostgreSQL only:
 * SQLite has a single writer.
 */
describe.each(matrix().filter((c) => c.db === 'postgres'))(
  'before image under a concurrent writer on $db with $store store',
  (combo) => {
    let f: Fixture
    beforeAll(async () => {
      f = await openFixture(combo)
    })
    beforeEach(() => f.reset())
    afterAll(() => f?.close())

    /** Keys of every bump published while `fn` runs. */
    async function published(fn: () => Promise<unknown>): Promise<string[][]> {
      const out: string[][] = []
      const on = (m: unknown) => out.push([...(m as { keys: string[] }).keys])
      subscribe('freshkey:invalidate', on)
      try {
        await fn()
      } finally {
        unsubscribe('freshkey:invalidate', on)
      }
      return out
    }

    const condition = (category: string) =>
      f.fk.tokenKeysOf([dep.scope('blog_articles', { published: true, category })])[1]!

    /** Another transaction moves article 1 to `sports` and holds the row until `release` resolves. */
    function concurrentWriter(release: Promise<void>): { moved: Promise<void>; done: Promise<unknown> } {
      let moved!: () => void
      const movedP = new Promise<void>((r) => {
        moved = r
      })
      const done = f.prisma.$transaction(
        async (tx) => {
          await tx.article.update({ where: { id: 1 }, data: { category: 'sports' } })
          moved()
          await release
        },
        { timeout: 20_000 },
      )
      return { moved: movedP, done }
    }

    const news = { category: 'news' }
    const modes: [string, () => Promise<unknown>][] = [
      // A PrismaPromise runs only once awaited: `.then` starts it now.
      [
        'update outside a transaction (compare-and-set)',
        () => f.prisma.article.update({ where: { id: 1 }, data: news }).then(),
      ],
      [
        'update inside $transaction (compare-and-set)',
        () =>
          f.prisma.$transaction((tx) => tx.article.update({ where: { id: 1 }, data: news }), {
            timeout: 20_000,
          }),
      ],
      [
        'upsert outside a transaction (REPEATABLE READ batch)',
        () =>
          f.prisma.article
            .upsert({ where: { id: 1 }, create: { id: 1, title: 'x', authorId: 1 }, update: news })
            .then(),
      ],
      [
        'update with a nested write inside $transaction (row lock)',
        () =>
          f.prisma.$transaction(
            (tx) =>
              tx.article.update({ where: { id: 1 }, data: { ...news, comments: { create: { body: 'x' } } } }),
            { timeout: 20_000 },
          ),
      ],
    ]

    for (const [mode, write] of modes) {
      it(`${mode}: the move out of the concurrent writer's scope is invalidated`, async () => {
        let release!: () => void
        const gate = new Promise<void>((r) => {
          release = r
        })
        const events = await published(async () => {
          const other = concurrentWriter(gate)
          await other.moved
          const ours = write()
          await sleep(300)
          release()
          await other.done
          await ours
        })
        expect(events).toHaveLength(2)
        const [theirs, ours] = events as [string[], string[]]
        expect(theirs).toEqual(expect.arrayContaining([condition('tech'), condition('sports')]))
        expect(ours).toEqual(expect.arrayContaining([condition('sports'), condition('news')]))
        expect(ours).not.toContain(condition('tech'))
        expect((await f.db.base.article.findUnique({ where: { id: 1 } }))?.category).toBe('news')
      })
    }
  },
)
