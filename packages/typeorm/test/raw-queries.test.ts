import { createFreshkey, dep, memoryStore } from '@freshkey/core'
import { afterEach, describe, expect, test } from 'vitest'
import { freshkeyTypeORM } from '../src/index.ts'
import { type Blog, openBlog } from './support/blog.ts'
import { Article } from './support/entities.ts'
import { watch } from './support/probe.ts'
import { databases } from './support/services.ts'

const deps = [
  dep.row('blog_articles', 1),
  dep.row('app_users', 1),
  dep.row('memberships', { userId: 1, groupId: 7 }),
  dep.table('tags'),
]

describe.each(databases)('raw SQL and other silent writes on %s', (db) => {
  const opened: Blog[] = []
  afterEach(async () => {
    while (opened.length) await opened.pop()!.close()
  })
  const open = async (options = {}) => {
    const blog = await openBlog(db, 'memory', options)
    opened.push(blog)
    return { blog, moved: (await watch(blog.fk, deps)).moved }
  }
  const p = (n: number) => (db === 'sqlite' ? '?' : `$${n}`)

  test('manager.query() inside a transaction is buffered with it and dropped on rollback', async () => {
    const { blog, moved } = await open()
    await expect(
      blog.ds.transaction(async (em) => {
        await em.query(`DELETE FROM memberships WHERE user_id = ${p(1)}`, [1])
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    expect(await moved()).toEqual([])
    await blog.ds.transaction((em) => em.query(`DELETE FROM memberships WHERE user_id = ${p(1)}`, [1]))
    expect(await moved()).toEqual(['memberships#groupId=7&userId=1'])
  })

  test('a raw read that names something freshkey does not know (a CTE, a view) depends on every table', async () => {
    const { blog } = await open()
    let loads = 0
    const read = () =>
      blog.fk.wrap('raw-cte', () => {
        loads++
        return blog.ds.query('WITH recent AS (SELECT * FROM blog_articles) SELECT count(*) AS n FROM recent')
      })
    await read()
    await read()
    expect(loads).toBe(1)
    await blog.ds.query(`UPDATE app_users SET name = ${p(1)} WHERE id = 1`, ['x'])
    await read()
    expect(loads).toBe(2)
  })

  test('a rawSql function declares the tables of statements the parser cannot attribute', async () => {
    const { blog, moved } = await open({
      rawSql: (sql: string) => (sql.includes('/* touches tags */') ? ['tags'] : undefined),
    })
    await blog.ds.query(`/* touches tags */ SELECT 1`)
    expect(await moved()).toEqual(['tags#*'])
    await blog.ds.query(`UPDATE blog_articles SET title = ${p(1)} WHERE id = 1`, ['x'])
    expect(await moved()).toEqual(['blog_articles#1'])
  })

  test("an unattributable write invalidates every table; rawSql: 'ignore' records nothing", async () => {
    const unattributable =
      db === 'sqlite' ? 'REINDEX' : 'DO $$ BEGIN UPDATE app_users SET name = name; END $$'
    const a = await open()
    await a.blog.ds.query(unattributable)
    expect(await a.moved()).toEqual([
      'blog_articles#1',
      'app_users#1',
      'memberships#groupId=7&userId=1',
      'tags#*',
    ])
    const b = await open({ rawSql: 'ignore' })
    await b.blog.ds.query(`UPDATE blog_articles SET title = 'y'`)
    expect(await b.moved()).toEqual([])
  })

  test('an update that rewrites primary keys is bulk (the new keys are unknown)', async () => {
    const { blog, moved } = await open()
    await blog.ds.createQueryBuilder().update(Article).set({ id: 50 }).where({ id: 1 }).execute()
    expect(await moved()).toEqual(['blog_articles#1'])
    const k = await blog.fk.keyFor(dep.row('blog_articles', 50))
    await blog.ds.createQueryBuilder().update(Article).set({ id: 51 }).where({ id: 50 }).execute()
    expect(await blog.fk.keyFor(dep.row('blog_articles', 50))).not.toBe(k)
  })

  test('two freshkey instances on one data source each see every write once', async () => {
    const { blog, moved } = await open()
    const other = createFreshkey({ store: memoryStore(), namespace: 'second' })
    const second = freshkeyTypeORM(blog.ds, other)
    try {
      const watched = await watch(other, deps)
      await blog.ds.getRepository(Article).update(1, { title: 'both' })
      expect(await moved()).toEqual(['blog_articles#1'])
      expect(await watched.moved()).toEqual(['blog_articles#1'])
      expect(other.stats().invalidations).toBe(1)
    } finally {
      second.dispose()
    }
  })
})
