import type { Freshkey } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type FreshkeyMikroORM, freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, entities, User } from './support/entities.ts'

const USERS = 4
const ARTICLES = 16
const READERS = 12

/**
 * DESIGN rule 2 for a populated relation (bench/app found stale authors here): readers cache an
 * article with its author (`populate`), writers rename authors with autocommit `nativeUpdate`; a
 * read that starts after a rename returned must not show an older name.
 */
describe.each(backends.filter((b) => b.db === 'postgres'))(
  'populated relations under concurrent writes ($name)',
  (backend) => {
    let ctx: OpenOrm
    let fk: Freshkey
    let handle: FreshkeyMikroORM
    beforeAll(async () => {
      ctx = await openOrm('postgres', { entities, pool: { min: 0, max: 24 } })
      const e = ctx.orm.em.fork()
      for (let u = 1; u <= USERS; u++) e.create(User, { id: u, name: '0' })
      for (let id = 1; id <= ARTICLES; id++)
        e.create(Article, { id, title: 't', published: true, category: 'a', author: 1 + (id % USERS) })
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

    test('no read shows an author older than a rename that returned before it started', {
      timeout: 120_000,
    }, async () => {
      const returned = new Array<number>(USERS + 1).fill(0)
      const stale: string[] = []
      let writing = USERS
      let reads = 0
      const writer = async (u: number) => {
        for (let v = 1; v <= 400; v++) {
          await ctx.orm.em.fork().nativeUpdate(User, u, { name: String(v) })
          returned[u] = v
        }
        writing--
      }
      const reader = async (r: number) => {
        for (let n = 0; writing > 0; n++) {
          await new Promise((resolve) => setImmediate(resolve))
          const id = ((r * 7 + n) % ARTICLES) + 1
          const u = 1 + (id % USERS)
          const atStart = returned[u]!
          const seen = await fk.wrap(['article', id], async () => {
            const a = await ctx.orm.em.fork().findOneOrFail(Article, id, { populate: ['author'] })
            return Number(a.author.name)
          })
          reads++
          if (seen < atStart) stale.push(`article ${id}: author ${u} at ${seen} after ${atStart} returned`)
        }
      }
      await Promise.all([
        ...Array.from({ length: USERS }, (_, u) => writer(u + 1)),
        ...Array.from({ length: READERS }, (_, r) => reader(r)),
      ])
      expect(reads).toBeGreaterThan(500)
      expect(stale.slice(0, 5)).toEqual([])
    })
  },
)
