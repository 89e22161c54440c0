import { createFreshkey, dep, type Freshkey, memoryStore } from '@freshkey/core'
import type { EntityManager } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, Comment, entities, Group, User } from './support/entities.ts'
import { queryText } from './support/observe.ts'
import { seed } from './support/seed.ts'

/**
 * Every kind of write and read the adapter hooks, as an app would run them. Reads go through
 * `fk.wrap` under fresh keys, so each one is a miss that runs its query.
 */
async function workload(root: EntityManager, fk: Freshkey): Promise<void> {
  const em = () => root.fork() as unknown as SqlEntityManager
  let n = 0
  const read = <T>(load: () => Promise<T>) => fk.wrap(`read:${n++}`, load)
  // Unit of work: insert, update (scoped and unscoped fields), delete, a collection (pivot) change.
  const e = em()
  e.create(Article, { id: 3, title: 'New', published: false, category: 'news', author: 1 })
  const a = await e.findOneOrFail(Article, 1, { populate: ['author'] })
  a.category = 'tech'
  a.title = 'Moved'
  const u = await e.findOneOrFail(User, 2)
  u.groups.add(e.getReference(Group, 10))
  await e.flush()
  e.remove(await e.findOneOrFail(Comment, 1))
  await e.flush()
  // Writes that bypass the unit of work.
  await em().nativeUpdate(Article, 2, { category: 'sports' })
  await em().nativeUpdate(Article, { category: 'news' }, { published: true })
  await em().nativeDelete(Article, 3)
  await em().insert(Comment, { id: 5, body: 'native', article: 2 })
  await em().insertMany(User, [
    { id: 7, name: 'g' },
    { id: 8, name: 'h' },
  ])
  await em().upsert(Article, { id: 2, title: 'Upserted', published: true, category: 'tech', author: 2 })
  await em().createQueryBuilder(Article).update({ title: 'qb' }).where({ id: 2 }).execute()
  await em().execute('update app_users set name = name where id = 8')
  // Transactions, nested (a savepoint), and one rolled back.
  await em().transactional(async (t) => {
    await t.nativeUpdate(User, 1, { name: 'Ada T.' })
    await t.transactional(async (inner) => {
      ;(await inner.findOneOrFail(Article, 1)).published = false
    })
  })
  await em()
    .transactional(async (t) => {
      await t.nativeUpdate(User, 2, { name: 'never' })
      throw new Error('rollback')
    })
    .catch(() => {})
  // Reads inside cached loaders: find, populate (joined and select-in), findOne, count, QueryBuilder, raw.
  await read(() => em().find(Article, { category: 'tech' }, { orderBy: { id: 'asc' } }))
  await read(() => em().find(Article, {}, { populate: ['author', 'comments'], strategy: 'joined' }))
  await read(() => em().find(User, {}, { populate: ['articles', 'groups'], strategy: 'select-in' }))
  await read(() => em().findOne(Article, 2))
  await read(() => em().count(Article, { published: true }))
  await read(() => em().findAndCount(Article, { author: 1 }, { limit: 1, orderBy: { id: 'asc' } }))
  await read(() => em().createQueryBuilder(Article, 'x').select('*').where({ id: 1 }).getResult())
  await read(() => em().execute('select count(*) as n from blog_articles'))
  const loaded = em()
  const article = await loaded.findOneOrFail(Article, 1)
  await read(() => article.comments.init())
  void dep
}

// MikroORM's own test suite failed 64 times on the before images' extra SQL. The proof that the
// adapter adds none: the same workload logs the same statements with freshkey as without it.
describe.each(backends)('no SQL of freshkey’s own ($name)', (backend) => {
  let ctx: OpenOrm
  const log: string[] = []
  let recording = false

  beforeAll(async () => {
    ctx = await openOrm(backend.db, {
      entities,
      debug: ['query'],
      logger: (m: string) => {
        if (recording) log.push(queryText(m))
      },
    })
  })
  afterAll(() => ctx.close())

  async function statements(withFreshkey: boolean): Promise<string[]> {
    await ctx.clear()
    await seed(ctx.orm.em)
    const fk = createFreshkey({ store: memoryStore(), namespace: `sql-${withFreshkey}` })
    const handle = withFreshkey ? freshkeyMikroORM(ctx.orm, fk) : undefined
    log.length = 0
    recording = true
    try {
      await workload(ctx.orm.em, fk)
    } finally {
      recording = false
      handle?.dispose()
      await fk.close()
    }
    return [...log]
  }

  test('the same workload runs exactly the same statements with the adapter as without it', async () => {
    const without = await statements(false)
    const withAdapter = await statements(true)
    expect(without.length).toBeGreaterThan(30)
    // findAndCount runs its two queries in parallel: their order may differ, their number may not.
    expect([...withAdapter].sort()).toEqual([...without].sort())
  })
})
