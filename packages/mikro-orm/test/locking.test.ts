import { randomUUID } from 'node:crypto'
import { Scope } from '@freshkey/core'
import { MikroORM as PostgreSqlORM } from '@mikro-orm/postgresql'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, Comment, entities } from './support/entities.ts'
import { seed } from './support/seed.ts'

Scope(['published', 'category'])(Article)

const postgres = backends.filter((b) => b.db === 'postgres')

/** Resolves after `ms`; the deadlock detector of PostgreSQL fires after 1 s by default. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

// Regression: a scoped update read its before image with SELECT … FOR UPDATE, a stronger lock than
// the UPDATE's own (FOR NO KEY UPDATE). It waited on the FOR KEY SHARE lock an insert of a child
// row takes on its parent, and deadlocked with a transaction waiting on the updater.
describe.each(postgres)(
  'the deadlock pattern of FK KEY SHARE locks and a scoped update ($name)',
  (backend) => {
    let ctx: OpenOrm

    beforeAll(async () => {
      ctx = await openOrm('postgres', { entities })
    })
    afterAll(() => ctx.close())

    async function pattern(): Promise<void> {
      await ctx.clear()
      await seed(ctx.orm.em)
      let step!: () => void
      const updaterLockedRow2 = new Promise<void>((r) => {
        step = r
      })
      let release!: () => void
      const childInserted = new Promise<void>((r) => {
        release = r
      })
      const updater = ctx.orm.em.fork().transactional(async (t) => {
        await t.nativeUpdate(Article, 2, { title: 'locked by the updater' })
        step()
        await childInserted
        // The child's transaction now holds KEY SHARE on article 1 and waits for row 2.
        await pause(300)
        const a = await t.findOneOrFail(Article, 1)
        a.category = 'tech'
        await t.flush()
      })
      const child = ctx.orm.em.fork().transactional(async (t) => {
        await updaterLockedRow2
        await t.insert(Comment, { id: 2, body: 'child', article: 1 })
        release()
        await t.nativeUpdate(Article, 2, { title: 'after the updater' })
      })
      await Promise.all([updater, child])
    }

    test('succeeds without freshkey', { timeout: 20_000 }, async () => {
      await expect(pattern()).resolves.toBeUndefined()
    })

    test('succeeds with freshkey as it does without it', { timeout: 20_000 }, async () => {
      const fk = makeFreshkey(backend.store)
      const handle = freshkeyMikroORM(ctx.orm, fk)
      try {
        await expect(pattern()).resolves.toBeUndefined()
        const a = await ctx.orm.em.fork().findOneOrFail(Article, 1)
        expect(a.category).toBe('tech')
      } finally {
        handle.dispose()
        await fk.close()
      }
    })
  },
)

// Regression: the before image selected scoped columns the writing role may not read.
describe.each(postgres)('a role without SELECT on a column ($name)', (backend) => {
  let ctx: OpenOrm
  let limited: PostgreSqlORM
  const role = `fk_limited_${randomUUID().replaceAll('-', '').slice(0, 8)}`

  beforeAll(async () => {
    ctx = await openOrm('postgres', { entities })
    await seed(ctx.orm.em)
    const em = ctx.orm.em.fork()
    await em.execute(`create role ${role} login password 'x'`)
    await em.execute(`grant usage on schema public to ${role}`)
    await em.execute(`grant select (id, title, author_id, published) on blog_articles to ${role}`)
    await em.execute(`grant update (title, category, published) on blog_articles to ${role}`)
    await em.execute(`grant insert on blog_articles to ${role}`)
    await em.execute(`grant usage on all sequences in schema public to ${role}`)
    const url = new URL((ctx.orm.config as unknown as { get(k: string): string }).get('clientUrl'))
    url.username = role
    url.password = 'x'
    limited = await PostgreSqlORM.init({ clientUrl: url.toString(), entities, pool: { min: 0, max: 2 } })
  })
  afterAll(async () => {
    await limited?.close(true)
    await ctx.orm.em.fork().execute(`drop owned by ${role}`)
    await ctx.orm.em.fork().execute(`drop role ${role}`)
    await ctx.close()
  })

  test('its writes of the column it cannot read succeed with freshkey installed', async () => {
    const fk = makeFreshkey(backend.store)
    const handle = freshkeyMikroORM(limited, fk)
    try {
      await limited.em.fork().nativeUpdate(Article, 1, { category: 'sports' })
      await limited.em
        .fork()
        .transactional((t) => t.nativeUpdate(Article, { id: 2 }, { category: 'sports', title: 'T' }))
      const e = limited.em.fork()
      const a = (await e.findOneOrFail(Article, 1, { fields: ['id', 'title', 'published'] })) as Article
      a.category = 'tech'
      a.title = 'Partially loaded'
      await e.flush()
      await limited.em
        .fork()
        .insert(Article, { id: 3, title: 'x', published: true, category: 'news', author: 1 })
      const rows = await ctx.orm.em.fork().find(Article, {}, { orderBy: { id: 'asc' } })
      expect(rows.map((r) => r.category)).toEqual(['tech', 'sports', 'news'])
      expect(fk.stats().adapterErrors).toBe(0)
    } finally {
      handle.dispose()
      await fk.close()
    }
  })
})
