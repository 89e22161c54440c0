import { dep, type Freshkey } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type FreshkeyMikroORM, freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, entities, User } from './support/entities.ts'

const ARTICLES = 8
const WRITERS = 4
const WRITES_PER_WRITER = 250
const READERS = 8
const CATEGORIES = ['a', 'b', 'c'] as const
const categoryOf = (version: number) => CATEGORIES[version % CATEGORIES.length]!

/**
 * DESIGN rule 2 under load: a read that starts after a write's call returned must not see older
 * data. Each article has one writer, so its versions only grow; readers go through `fk.wrap` on
 * the row and on scoped lists.
 */
describe.each(backends.filter((b) => b.db === 'postgres'))(
  'concurrent writers and readers ($name)',
  (backend) => {
    let ctx: OpenOrm
    let fk: Freshkey
    let handle: FreshkeyMikroORM

    beforeAll(async () => {
      ctx = await openOrm('postgres', { entities, pool: { min: 0, max: 24 } })
      const e = ctx.orm.em.fork()
      e.create(User, { id: 1, name: 'writer' })
      for (let id = 1; id <= ARTICLES; id++)
        e.create(Article, { id, title: '0', published: true, category: categoryOf(0), author: 1 })
      await e.flush()
      fk = makeFreshkey(backend.store)
      handle = freshkeyMikroORM(ctx.orm, fk)
    })
    afterAll(async () => {
      handle.dispose()
      await ctx.close()
      await fk.close()
      await fk.store.close()
    })

    test('no stale read among thousands of operations', { timeout: 120_000 }, async () => {
      const returned = new Array<number>(ARTICLES + 1).fill(0)
      const inflight = new Array<boolean>(ARTICLES + 1).fill(false)
      const writesStarted = new Array<number>(ARTICLES + 1).fill(0)
      let writing = WRITERS
      let reads = 0
      const stale: string[] = []

      const writer = async (w: number) => {
        const mine = Array.from({ length: ARTICLES }, (_, i) => i + 1).filter((id) => id % WRITERS === w)
        for (let n = 0; n < WRITES_PER_WRITER; n++) {
          const id = mine[n % mine.length]!
          const version = returned[id]! + 1
          inflight[id] = true
          writesStarted[id]!++
          if (n % 2 === 0) {
            const e = ctx.orm.em.fork()
            const a = await e.findOneOrFail(Article, id)
            a.title = String(version)
            a.category = categoryOf(version)
            await e.flush()
          } else {
            await ctx.orm.em
              .fork()
              .transactional((t) =>
                t.nativeUpdate(Article, id, { title: String(version), category: categoryOf(version) }),
              )
          }
          returned[id] = version
          inflight[id] = false
        }
        writing--
      }

      const reader = async (r: number) => {
        for (let n = 0; writing > 0; n++) {
          // memoryStore answers in microtasks: without a macrotask turn a reader that keeps hitting
          // the cache would starve the writers' database I/O.
          await new Promise((resolve) => setImmediate(resolve))
          reads++
          if (n % 2 === 0) {
            const id = ((r + n) % ARTICLES) + 1
            const atStart = returned[id]!
            const seen = await fk.wrap([dep.row('blog_articles', id)], async () => {
              const a = await ctx.orm.em.fork().findOneOrFail(Article, id, { disableIdentityMap: true })
              return Number(a.title)
            })
            if (seen < atStart) stale.push(`row ${id}: saw ${seen} after ${atStart} returned`)
          } else {
            const category = CATEGORIES[(r + n) % CATEGORIES.length]!
            const start = Array.from({ length: ARTICLES + 1 }, (_, id) => ({
              version: returned[id]!,
              idle: !inflight[id],
              started: writesStarted[id]!,
            }))
            const rows = await fk.wrap([dep.scope(Article, { published: true, category })], async () => {
              const found = await ctx.orm.em
                .fork()
                .find(
                  Article,
                  { published: true, category },
                  { disableIdentityMap: true, fields: ['id', 'title'] },
                )
              return found.map((a) => [a.id, Number(a.title)] as const)
            })
            const listed = new Map(rows)
            for (let id = 1; id <= ARTICLES; id++) {
              const s = start[id]!
              const version = listed.get(id)
              if (version !== undefined && version < s.version)
                stale.push(`list ${category}: article ${id} at ${version} after ${s.version} returned`)
              // Absent although it sat in this category, untouched, for the whole read.
              const untouched = s.idle && writesStarted[id] === s.started
              if (version === undefined && untouched && categoryOf(s.version) === category) {
                stale.push(`list ${category}: article ${id} missing at ${s.version}`)
              }
            }
          }
        }
      }

      const started = Date.now()
      await Promise.all([
        ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
        ...Array.from({ length: READERS }, (_, r) => reader(r)),
      ])
      const elapsed = Date.now() - started
      const stats = fk.stats()
      console.info(
        `[concurrency ${backend.name}] ${WRITERS * WRITES_PER_WRITER} writes, ${reads} reads, ${stats.hits} hits, ${elapsed} ms`,
      )
      expect(stale).toEqual([])
      expect(reads).toBeGreaterThan(1000)
      expect(stats.hits).toBeGreaterThan(0)
    })
  },
)
