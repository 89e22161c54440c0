import { dep, type Freshkey } from '@freshkey/core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type FreshkeyMikroORM, freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, Comment, entities, Group, Membership, User } from './support/entities.ts'
import { watchBumps } from './support/observe.ts'
import { seed } from './support/seed.ts'

describe.each(backends)('writes through the unit of work ($name)', ({ db, store }) => {
  let ctx: OpenOrm
  let fk: Freshkey
  let handle: FreshkeyMikroORM
  let bumps: ReturnType<typeof watchBumps>
  const em = () => ctx.orm.em.fork()

  beforeAll(async () => {
    ctx = await openOrm(db, { entities })
  })
  afterAll(() => ctx.close())
  beforeEach(async () => {
    await ctx.clear()
    fk = makeFreshkey(store)
    handle = freshkeyMikroORM(ctx.orm, fk)
    await seed(ctx.orm.em)
    bumps = watchBumps(fk)
  })
  afterEach(async () => {
    handle.dispose()
    bumps.stop()
    await fk.store.close()
  })

  test('an insert bumps its row and table, in one store call', async () => {
    const e = em()
    e.create(Article, { id: 3, title: 'New', published: false, category: 'news', author: 1 })
    e.create(Comment, { id: 2, body: 'hi', article: 1 })
    await e.flush()
    expect(bumps.calls).toHaveLength(1)
    expect(
      bumps.bumped(dep.row('blog_articles', 3), dep.table('blog_articles'), dep.row('article_comments', 2)),
    ).toBe(true)
    expect(bumps.bumped(dep.row('blog_articles', 1))).toBe(false)
  })

  test('an autoincrement key is known once the insert ran', async () => {
    // The seed inserted explicit keys; move PostgreSQL's sequence past them (a select: nothing is bumped).
    if (db === 'postgres') await ctx.orm.em.execute(`select setval('blog_articles_id_seq', 100)`)
    const e = em()
    const a = e.create(Article, { title: 'Auto', published: false, category: 'news', author: 1 })
    await e.flush()
    expect(a.id).toBeGreaterThan(0)
    expect(bumps.bumped(dep.row('blog_articles', a.id))).toBe(true)
  })

  test('an update bumps its row and not the others', async () => {
    const e = em()
    const a = await e.findOneOrFail(Article, 1)
    a.title = 'Edited'
    await e.flush()
    expect(bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    expect(bumps.bumped(dep.row('blog_articles', 2))).toBe(false)
  })

  test('a delete bumps its row and the tables its foreign keys cascade to', async () => {
    const e = em()
    e.remove(await e.findOneOrFail(User, 2))
    await e.flush()
    expect(
      bumps.bumped(
        dep.row('app_users', 2),
        dep.row('blog_articles', 2),
        dep.row('user_groups', { User_owner: 2, Group_inverse: 10 }),
      ),
    ).toBe(true)
    expect(bumps.bumped(dep.row('app_users', 1))).toBe(false)
  })

  test('composite primary keys are objects of property names', async () => {
    const e = em()
    const m = await e.findOneOrFail(Membership, { userId: 1, groupId: 10 })
    m.role = 'owner'
    await e.flush()
    expect(bumps.bumped(dep.row('memberships', { userId: 1, groupId: 10 }))).toBe(true)
    expect(bumps.bumped(dep.row('memberships', { userId: 2, groupId: 10 }))).toBe(false)
  })

  test('a changed primary key bumps the old and the new row', async () => {
    const e = em()
    const g = await e.findOneOrFail(Group, 10)
    g.id = 11
    await e.flush()
    expect(bumps.bumped(dep.row('app_groups', 10), dep.row('app_groups', 11))).toBe(true)
  })

  test('a many-to-many change bumps the pivot table', async () => {
    const e = em()
    const u = await e.findOneOrFail(User, 1, { populate: ['groups'] })
    u.groups.add(e.getReference(Group, 10))
    await e.flush()
    expect(bumps.bumped(dep.table('user_groups'))).toBe(true)
    expect(bumps.bumped(dep.row('app_users', 1))).toBe(false)
  })
})
