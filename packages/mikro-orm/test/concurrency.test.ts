import type { Freshkey } from '@freshkey/core'
import { Binding, TransactionFrames } from '@freshkey/core/adapter'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type FreshkeyMikroORM, freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, entities, User } from './support/entities.ts'

const ARTICLES = 8
const WRITERS = 4
const READERS = 8
const CATEGORIES = ['a', 'b', 'c'] as const
const categoryOf = (version: number) => CATEGORIES[version % CATEGORIES.length]!

interface Outcome {
  readonly stale: string[]
  readonly reads: number
  readonly hits: number
}

/**
 * DESIGN rule 2 under load: a read that starts after a write's call returned must not see older
 * data. Each article has one writer, so its versions only grow. Readers go through `fk.wrap` with
 * no declared dependencies: what the loaders' queries read (rows, filters) is all freshkey knows.
 * Writers alternate flushes (implicit transaction), `em.transactional` and autocommit `nativeUpdate`.
 */
async function run(ctx: OpenOrm, fk: Freshkey, writesPerWriter: number): Promise<Outcome> {
  const returned = new Array<number>(ARTICLES + 1).fill(0)
  const inflight = new Array<boolean>(ARTICLES + 1).fill(false)
  const writesStarted = new Array<number>(ARTICLES + 1).fill(0)
  let writing = WRITERS
  let reads = 0
  const stale: string[] = []
  const hitsBefore = fk.stats().hits

  const writer = async (w: number) => {
    const mine = Array.from({ length: ARTICLES }, (_, i) => i + 1).filter((id) => id % WRITERS === w)
    // Writers go on (up to 4× their share) until the readers have made enough reads to count:
    // on a loaded machine Redis round trips slow the readers more than the writers.
    for (let n = 0; n < writesPerWriter || (reads < 1200 && n < writesPerWriter * 4); n++) {
      const id = mine[n % mine.length]!
      const version = returned[id]! + 1
      const data = { title: String(version), category: categoryOf(version) }
      inflight[id] = true
      writesStarted[id]!++
      if (n % 3 === 0) {
        const e = ctx.orm.em.fork()
        Object.assign(await e.findOneOrFail(Article, id), data)
        await e.flush()
      } else if (n % 3 === 1) {
        await ctx.orm.em.fork().transactional((t) => t.nativeUpdate(Article, id, data))
      } else await ctx.orm.em.fork().nativeUpdate(Article, id, data)
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
        const seen = await fk.wrap(`title:${id}`, async () => {
          const a = await ctx.orm.em.fork().findOneOrFail(Article, id)
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
        const rows = await fk.wrap(`list:${category}`, async () => {
          const found = await ctx.orm.em
            .fork()
            .find(Article, { published: true, category }, { fields: ['id', 'title'] })
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
          if (version === undefined && untouched && categoryOf(s.version) === category)
            stale.push(`list ${category}: article ${id} missing at ${s.version}`)
        }
      }
    }
  }

  await Promise.all([
    ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
    ...Array.from({ length: READERS }, (_, r) => reader(r)),
  ])
  return { stale, reads, hits: fk.stats().hits - hitsBefore }
}

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
      const started = Date.now()
      const { stale, reads, hits } = await run(ctx, fk, 250)
      console.info(
        `[concurrency ${backend.name}] at least ${WRITERS * 250} writes, ${reads} reads, ${hits} hits, ${Date.now() - started} ms`,
      )
      expect(stale).toEqual([])
      expect(reads).toBeGreaterThan(1000)
      expect(hits).toBeGreaterThan(0)
    })

    // bench/app found stale authors: a populated relation must stay a dependency under concurrent
    // renames (autocommit `nativeUpdate`) of the rows it joined.
    test('no read shows a populated author older than a rename that returned before it started', {
      timeout: 120_000,
    }, async () => {
      const USERS = 4
      const e = ctx.orm.em.fork()
      for (let u = 1; u <= USERS; u++) e.create(User, { id: 100 + u, name: '0' })
      for (let i = 1; i <= 16; i++)
        e.create(Article, {
          id: 100 + i,
          title: 't',
          published: false,
          category: 'p',
          author: 101 + (i % USERS),
        })
      await e.flush()
      const returned = new Map<number, number>()
      const stale: string[] = []
      let writing = USERS
      let reads = 0
      const renamer = async (u: number) => {
        for (let v = 1; v <= 400; v++) {
          await ctx.orm.em.fork().nativeUpdate(User, u, { name: String(v) })
          returned.set(u, v)
        }
        writing--
      }
      const reader = async (r: number) => {
        for (let n = 0; writing > 0; n++) {
          await new Promise((resolve) => setImmediate(resolve))
          const id = 101 + ((r * 7 + n) % 16)
          const u = 101 + ((id - 100) % USERS)
          const atStart = returned.get(u) ?? 0
          const seen = await fk.wrap(['article-author', id], async () => {
            const a = await ctx.orm.em.fork().findOneOrFail(Article, id, { populate: ['author'] })
            return Number(a.author.name)
          })
          reads++
          if (seen < atStart) stale.push(`article ${id}: author ${u} at ${seen} after ${atStart} returned`)
        }
      }
      await Promise.all([
        ...Array.from({ length: USERS }, (_, u) => renamer(101 + u)),
        ...Array.from({ length: 12 }, (_, r) => reader(r)),
      ])
      expect(reads).toBeGreaterThan(500)
      expect(stale.slice(0, 5)).toEqual([])
    })

    // The proof that the test above can fail: the same workload with the commits' fences and bumps
    // dropped (frames discard what transactions recorded, writes outside transactions bump nothing).
    test('without the fence and bump of commits the same workload reads stale data', {
      timeout: 120_000,
    }, async () => {
      const frames = TransactionFrames.prototype as unknown as Record<string, unknown>
      const binding = Binding.prototype as unknown as Record<string, unknown>
      const saved = {
        frames: { ...pick(frames, 'beforeCommit', 'afterCommit') },
        binding: pick(binding, 'autocommit', 'record'),
      }
      frames.beforeCommit = () => {}
      frames.afterCommit = async function (this: TransactionFrames<object>, h: object) {
        this.afterRollback(h)
      }
      binding.autocommit = (_facts: unknown, write: () => Promise<unknown>) => write()
      const record = saved.binding.record as (...args: unknown[]) => Promise<void>
      binding.record = function (this: unknown, ...args: unknown[]) {
        return args[0] === undefined ? Promise.resolve() : record.apply(this, args)
      }
      try {
        const { stale } = await run(ctx, fk, 120)
        expect(stale.length).toBeGreaterThan(0)
      } finally {
        Object.assign(frames, saved.frames)
        Object.assign(binding, saved.binding)
      }
    })
  },
)

function pick(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]))
}
